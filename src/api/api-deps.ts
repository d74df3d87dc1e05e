import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Store } from '../db/store.js';
import type { InferenceService } from '../inference/inference-service.js';
import type { ApiMetrics } from '../metrics/api-metrics.js';
import type { Invalidation } from '../queue/invalidation-channel.js';
import type { JobEventListener } from '../queue/job-event-channel.js';
import type { TrainJobData } from '../queue/train-queue.js';
import type { UploadParsers } from '../uploads/upload-parsers.js';
import type { JobLimits } from './job-limits.js';
import type { KeyCache } from './key-cache.js';
import type { PromptCache } from './prompt-cache.js';
import type { ModelRegistry } from './model-registry.js';

/** What the routes work with; built by the server, or by a test. */
export interface ApiDeps {
  readonly store: Store;
  /** API keys as the auth hook checks them: remembered for a short time (key-cache.ts). */
  readonly keys: KeyCache;
  /** Stored prompts with their tensors, as predict and generate read them (prompt-cache.ts). */
  readonly prompts: PromptCache;
  /** Tells every replica (this one included) to forget what it cached of a revoked key or a deleted prompt. */
  invalidate(invalidation: Invalidation): Promise<void>;
  readonly models: ModelRegistry;
  readonly trainQueue: Queue<TrainJobData>;
  /** For cancel messages and readiness. */
  readonly redis: Redis;
  readonly queuePrefix: string;
  /** Wakes the job event streams of this replica when any process commits events. */
  readonly jobEvents: JobEventListener;
  /** Event streams this process holds open at once. */
  readonly maxEventStreams: number;
  /** This process's Prometheus metrics: requests are counted by a hook, inference through `inference`. */
  readonly metrics: ApiMetrics;
  /** Whether GET /metrics is answered on the API's own port too (LOPT_METRICS_ON_API_PORT). */
  readonly metricsOnApiPort: boolean;
  /** The queue board's path and admin key; null when no admin key is configured (no board). */
  readonly queueBoard: { readonly path: string; readonly adminKey: string } | null;
  readonly inference: InferenceService;
  /** Dataset uploads are read and checked in these threads, off the event loop. */
  readonly uploadParsers: UploadParsers;
  /** Bounds on one job's work, checked at submit. */
  readonly jobLimits: JobLimits;
  /** Resolves when PostgreSQL answers. */
  pingDatabase(): Promise<void>;
}
