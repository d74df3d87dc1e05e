/** Environment → typed configuration, read and validated in one place. */
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_JOB_LIMITS, JOB_LIMIT_SETTINGS, type JobLimits } from './api/job-limits.js';
import type { InferenceTuning } from './inference/messages.js';
import { parseBackendPreference, parseNativeKernelsMode, type BackendOptions, type BackendPreference, type NativeKernelsMode } from './engine/backend.js';

export interface Config {
  /** Interface the API listens on. @defaultValue `0.0.0.0` */
  readonly host: string;
  /** @defaultValue `8080` */
  readonly port: number;
  /** pino level. @defaultValue `info` */
  readonly logLevel: string;
  /** TensorFlow.js backend, or `auto` for the first that starts. @defaultValue `auto` */
  readonly backend: BackendPreference;
  /** The OpenBLAS kernels on wasm and cpu: where built (`auto`), `off`, or required (`on`). @defaultValue `auto` */
  readonly nativeKernels: NativeKernelsMode;
  /** OpenBLAS threads per process, so that the workers together fill the cores. @defaultValue cores ÷ LOPT_WORKERS, at least 1 */
  readonly nativeThreads: number;
  /** @defaultValue `postgresql://postgres@127.0.0.1:5432/lopt` */
  readonly databaseUrl: string;
  /** @defaultValue `redis://127.0.0.1:6379` */
  readonly redisUrl: string;
  /** Prefix of every BullMQ key and channel, so deployments can share a Redis. @defaultValue `lopt` */
  readonly queuePrefix: string;
  /** Frozen models served: id → Hugging Face folder. @defaultValue `gpt2-mini` from `../shared/models` beside the checkout */
  readonly models: ReadonlyMap<string, string>;
  /** The models the API's inference thread loads (LOPT_INFERENCE_MODELS, ids of LOPT_MODELS): the others are trained but not served here. @defaultValue all of them */
  readonly inferenceModels: ReadonlyMap<string, string>;
  /** How the inference thread batches and caches (LOPT_INFERENCE_BATCH_WINDOW_MS, LOPT_INFERENCE_MAX_ROWS, LOPT_PREFIX_CACHE_MB). */
  readonly inference: InferenceTuning;
  /** How long a found API key is remembered (LOPT_KEY_CACHE_TTL_MS; 0: never). @defaultValue `5000` */
  readonly keyCacheTtlMs: number;
  /** Bytes of stored prompts the API keeps in memory for predict and generate (LOPT_PROMPT_CACHE_MB). @defaultValue 64 MiB */
  readonly promptCacheBytes: number;
  /** The models a worker process loads and trains (LOPT_WORKER_MODELS, ids of LOPT_MODELS): it hands other models' jobs back to the queue for another worker. @defaultValue all of them */
  readonly workerModels: ReadonlyMap<string, string>;
  /** Bytes each process may use (LOPT_MEMORY_LIMIT_MB); models and batches that would not fit are refused. @defaultValue the machine's or container's memory */
  readonly memoryLimitBytes: number | undefined;
  /** Bounds on one job's work, checked at submit (LOPT_MAX_JOB_STEPS, …; see src/api/job-limits.ts). */
  readonly jobLimits: JobLimits;
  /** Largest dataset upload, in bytes. @defaultValue 20 MiB */
  readonly maxUploadBytes: number;
  /** Most rows in an upload (a header not counted). @defaultValue `200000` */
  readonly maxUploadRows: number;
  /** Most fields (JSONL keys, CSV/TSV columns) in one row of an upload. @defaultValue `100` */
  readonly maxUploadFields: number;
  /** Longest line of an upload in bytes (a JSONL line, a CSV/TSV record). @defaultValue 1 MiB */
  readonly maxUploadLineBytes: number;
  /** Uploads parsed at once, each in a thread of its own. @defaultValue `2` */
  readonly uploadThreads: number;
  /** Uploads that may wait for a parse thread; more are answered 503 UPLOADS_BUSY. @defaultValue `32` */
  readonly uploadQueue: number;
  /** Longest an upload may take, from its arrival (waiting included) to parsed. @defaultValue `120000` */
  readonly uploadTimeoutMs: number;
  /** Opens the queue board (Bull Board) to whoever gives it; none: no board. At least 24 characters. */
  readonly adminKey: string | undefined;
  /** Where the queue board is mounted. @defaultValue `/admin/queues` */
  readonly queueBoardPath: string;
  /** The API process's Prometheus metrics port (GET /metrics, no key: bind it where only the scraper reaches); 0 for none. @defaultValue `9464` */
  readonly metricsPort: number;
  /** Also answer GET /metrics on the API's own port, without a key. @defaultValue `false` */
  readonly metricsOnApiPort: boolean;
  /**
   * A worker's metrics port; none when unset. `npm start` gives its i-th worker
   * LOPT_WORKER_METRICS_PORT + i, or LOPT_METRICS_PORT + 1 + i when that is unset.
   */
  readonly workerMetricsPort: number | undefined;
  /** Job event streams (Server-Sent Events) an API process holds open at once; more are answered 503 STREAMS_BUSY. @defaultValue `1000` */
  readonly maxEventStreams: number;
  /** Worker processes the start command runs beside the API. @defaultValue `1` */
  readonly workers: number;
  /** A worker checkpoints a job every this many steps. @defaultValue `25` */
  readonly checkpointEvery: number;
  /** How long a worker's claim on a job lasts without renewal; a crashed worker's job is picked up after it. @defaultValue `60000` */
  readonly jobLockMs: number;
  /** How many times a job may stall (its worker crashed, was killed or froze past its lock) before it fails. @defaultValue `3` */
  readonly maxStalls: number;
  /** How long a worker waits out a PostgreSQL outage before the job's attempt fails. @defaultValue `300000` (5 min) */
  readonly storeGraceMs: number;
  /** How often each worker compares unfinished jobs with the queue (failed there, or lost by it). @defaultValue `30000` */
  readonly reconcileEveryMs: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const REPO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_MODELS = `gpt2-mini=${resolve(REPO_DIR, '../shared/models/gpt2-mini')}`;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
    Object.setPrototypeOf(this, ConfigError.prototype);
  }
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new ConfigError(`${name} must be an integer in ${min} … ${max}, got "${raw}"`);
  return value;
}

function boolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'true' && raw !== 'false') throw new ConfigError(`${name} must be true or false, got "${raw}"`);
  return raw === 'true';
}

function adminKey(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < 24) throw new ConfigError('LOPT_ADMIN_KEY must be at least 24 characters (e.g. openssl rand -base64 24)');
  return raw;
}

function boardPath(raw: string): string {
  if (!/^\/[\w/-]*[\w-]$/.test(raw) || raw.startsWith('/v1')) throw new ConfigError(`LOPT_QUEUE_BOARD_PATH must be a path such as /admin/queues, outside /v1, got "${raw}"`);
  return raw;
}

/** `id=folder,id=folder` */
function parseModels(raw: string): Map<string, string> {
  const models = new Map<string, string>();
  for (const entry of raw.split(',').filter(Boolean)) {
    const [id, path, ...rest] = entry.split('=');
    if (!id || !path || rest.length || !/^[\w.-]+$/.test(id)) throw new ConfigError(`LOPT_MODELS wants id=folder pairs, got "${entry}"`);
    models.set(id, resolve(path));
  }
  if (models.size === 0) throw new ConfigError('LOPT_MODELS names no model');
  return models;
}

/** `id,id` of `models` in the variable `name`, or all of them when unset; empty: none. */
function parseModelSubset(env: NodeJS.ProcessEnv, name: string, models: ReadonlyMap<string, string>): Map<string, string> {
  const raw = env[name];
  if (raw === undefined) return new Map(models);
  const ids = raw.split(',').map((id) => id.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !models.has(id));
  if (unknown.length) throw new ConfigError(`${name} names models LOPT_MODELS does not: ${unknown.join(', ')}`);
  return new Map(ids.map((id) => [id, models.get(id)!]));
}

/** What every process's backend is started with. */
export function backendOptionsOf(config: Config): BackendOptions {
  return {
    nativeKernels: config.nativeKernels,
    nativeThreads: config.nativeThreads,
    ...(config.memoryLimitBytes === undefined ? {} : { memoryLimitBytes: config.memoryLimitBytes }),
  };
}

function readJobLimits(env: NodeJS.ProcessEnv): JobLimits {
  const read = (limit: keyof JobLimits) => integer(env, JOB_LIMIT_SETTINGS[limit], DEFAULT_JOB_LIMITS[limit], 1);
  return {
    maxSteps: read('maxSteps'),
    maxEpochs: read('maxEpochs'),
    maxBatchTokens: read('maxBatchTokens'),
    maxTrainRows: read('maxTrainRows'),
    maxEvaluationRows: read('maxEvaluationRows'),
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  const parsed = <T>(name: string, parse: (value: string | undefined) => T): T => {
    try {
      return parse(env[name]);
    } catch (err) {
      throw new ConfigError(`${name}: ${(err as Error).message}`);
    }
  };
  const workers = integer(env, 'LOPT_WORKERS', 1, 0, 64);
  const models = parseModels(env.LOPT_MODELS ?? DEFAULT_MODELS);
  const memoryLimitMb = env.LOPT_MEMORY_LIMIT_MB ? integer(env, 'LOPT_MEMORY_LIMIT_MB', 0, 64) : undefined;
  return {
    host: env.HOST ?? '0.0.0.0',
    port: integer(env, 'PORT', 8080, 0, 65535),
    logLevel,
    backend: parsed('LOPT_BACKEND', parseBackendPreference),
    nativeKernels: parsed('LOPT_NATIVE_KERNELS', parseNativeKernelsMode),
    nativeThreads: integer(env, 'LOPT_NATIVE_THREADS', Math.max(1, Math.floor(availableParallelism() / Math.max(1, workers))), 1, 1024),
    databaseUrl: env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/lopt',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    queuePrefix: env.LOPT_QUEUE_PREFIX ?? 'lopt',
    models,
    inferenceModels: parseModelSubset(env, 'LOPT_INFERENCE_MODELS', models),
    inference: {
      batchWindowMs: integer(env, 'LOPT_INFERENCE_BATCH_WINDOW_MS', 2, 0, 1000),
      maxRows: integer(env, 'LOPT_INFERENCE_MAX_ROWS', 64, 1, 4096),
      prefixCacheBytes: integer(env, 'LOPT_PREFIX_CACHE_MB', 256, 0, 1024 * 1024) * 1024 * 1024,
    },
    keyCacheTtlMs: integer(env, 'LOPT_KEY_CACHE_TTL_MS', 5000, 0, 3_600_000),
    promptCacheBytes: integer(env, 'LOPT_PROMPT_CACHE_MB', 64, 0, 1024 * 1024) * 1024 * 1024,
    workerModels: parseModelSubset(env, 'LOPT_WORKER_MODELS', models),
    memoryLimitBytes: memoryLimitMb === undefined ? undefined : memoryLimitMb * 2 ** 20,
    jobLimits: readJobLimits(env),
    maxUploadBytes: integer(env, 'LOPT_MAX_UPLOAD_BYTES', 20 * 1024 * 1024, 1),
    maxEventStreams: integer(env, 'LOPT_MAX_EVENT_STREAMS', 1000, 1),
    adminKey: adminKey(env.LOPT_ADMIN_KEY),
    queueBoardPath: boardPath(env.LOPT_QUEUE_BOARD_PATH ?? '/admin/queues'),
    metricsPort: integer(env, 'LOPT_METRICS_PORT', 9464, 0, 65535),
    metricsOnApiPort: boolean(env, 'LOPT_METRICS_ON_API_PORT', false),
    workerMetricsPort: env.LOPT_WORKER_METRICS_PORT ? integer(env, 'LOPT_WORKER_METRICS_PORT', 0, 1, 65535) : undefined,
    maxUploadRows: integer(env, 'LOPT_MAX_UPLOAD_ROWS', 200_000, 1),
    maxUploadFields: integer(env, 'LOPT_MAX_UPLOAD_FIELDS', 100, 1),
    maxUploadLineBytes: integer(env, 'LOPT_MAX_UPLOAD_LINE_BYTES', 1024 * 1024, 1),
    uploadThreads: integer(env, 'LOPT_UPLOAD_THREADS', 2, 1, 64),
    uploadQueue: integer(env, 'LOPT_UPLOAD_QUEUE', 32, 0, 10_000),
    uploadTimeoutMs: integer(env, 'LOPT_UPLOAD_TIMEOUT_MS', 120_000, 1000),
    workers,
    checkpointEvery: integer(env, 'LOPT_CHECKPOINT_EVERY', 25, 1),
    jobLockMs: integer(env, 'LOPT_JOB_LOCK_MS', 60_000, 1000),
    maxStalls: integer(env, 'LOPT_MAX_STALLS', 3, 0, 1000),
    storeGraceMs: integer(env, 'LOPT_STORE_GRACE_MS', 300_000, 0),
    reconcileEveryMs: integer(env, 'LOPT_RECONCILE_EVERY_MS', 30_000, 100),
  };
}
