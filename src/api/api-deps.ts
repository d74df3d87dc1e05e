import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Store } from '../db/store.js';
import type { InferenceService } from '../inference/inference-service.js';
import type { TrainJobData } from '../queue/train-queue.js';
import type { ModelRegistry } from './model-registry.js';

/** What the routes work with; built by the server, or by a test. */
export interface ApiDeps {
  readonly store: Store;
  readonly models: ModelRegistry;
  readonly trainQueue: Queue<TrainJobData>;
  /** For cancel messages and readiness. */
  readonly redis: Redis;
  readonly queuePrefix: string;
  readonly inference: InferenceService;
  readonly maxUploadBytes: number;
  /** Resolves when PostgreSQL answers. */
  pingDatabase(): Promise<void>;
}
