/**
 * A real service for tests: its own PostgreSQL database (migrated), its own BullMQ prefix on the
 * real Redis, the API in-process, and worker processes started on demand.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { connectApiDeps } from '../../src/api/build-deps.js';
import type { ApiDeps } from '../../src/api/api-deps.js';
import { loadConfig, type Config } from '../../src/config.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { createLogger } from '../../src/logger.js';
import type { PromptSource, StoredPrompt, Tensor } from '../../src/db/prompts-repository.js';
import { assertMatchesSpec } from './openapi-responses.js';
import { MODELS_DIR } from './shared.js';

/** The server's maintenance database, where test databases are dropped. */
const adminUrl = (databaseUrl: string) => Object.assign(new URL(databaseUrl), { pathname: '/postgres' }).toString();

/** Three SST-2-like rows, as JSONL: enough for a job's submit checks. */
export const TINY_SENTIMENT_JSONL = ['{"text":"a fine film","label":"1"}', '{"text":"a dull mess","label":"0"}', '{"text":"great fun","label":"1"}'].join('\n');

/** A valid one-step LoPT-1 job on a dataset of TINY_SENTIMENT_JSONL's shape, with `overrides` over it. */
export const tinySentimentJob = (datasetId: string, overrides: object = {}) => ({
  model: 'gpt2-mini',
  datasetId,
  task: { kind: 'classification', template: '{text} It was', labelWords: { '0': ' terrible', '1': ' great' } },
  method: 'lopt1',
  n: 4,
  r: 2,
  hyperparameters: { maxSteps: 1 },
  ...overrides,
});

/** A response of the API: its status and JSON body ({} for none, as a 204 has). */
export interface ApiResponse {
  readonly status: number;
  readonly body: Record<string, any>;
}

const FINAL_STATUSES = ['succeeded', 'failed', 'cancelled'];

export interface PromptToStore {
  readonly task: object;
  readonly method?: 'pt' | 'lopt1';
  readonly n?: number;
  readonly jobId?: string | null;
  readonly source?: PromptSource;
  readonly modelId?: string;
}

export interface TestService {
  readonly app: FastifyInstance;
  readonly deps: ApiDeps;
  readonly env: NodeJS.ProcessEnv;
  /** A new tenant's API key. */
  newKey(name?: string): Promise<string>;
  /** Uploads TINY_SENTIMENT_JSONL with `key`; returns the dataset's id. */
  uploadTinyDataset(key: string): Promise<string>;
  /**
   * A request through the in-process API with `key`; its JSON body is checked against the schema
   * openapi.yaml gives for `route` and the status. A string payload goes as it is, with `contentType`.
   */
  call(key: string, method: 'GET' | 'POST' | 'DELETE', url: string, route: string, payload?: object | string, contentType?: string): Promise<ApiResponse>;
  /** Polls the job until it is succeeded, failed or cancelled; returns it then. */
  finishedJob(key: string, jobId: string, timeoutMs?: number): Promise<Record<string, any>>;
  /**
   * Stores a prompt for `key`'s tenant as a worker (with `jobId`) or an import would, so that
   * predict and generate reach the inference thread without a training run: pt, or lopt1 of rank
   * 1, n rows (4 by default) of a fixed wave for `modelId` (gpt2-mini by default).
   */
  storePrompt(key: string, options: PromptToStore): Promise<StoredPrompt>;
  /** Downloads a prompt's safetensors file into `dir`; returns its path. */
  downloadPrompt(key: string, promptId: string, dir: string): Promise<string>;
  /** Starts a worker process against this service's database and queue, with `overrides` over the service's environment. */
  startWorker(overrides?: NodeJS.ProcessEnv): ChildProcess;
  /** SIGKILLs every worker this service started, as a crash would. */
  killWorkers(): void;
  /** Stops workers and the API, and drops the database and queue. */
  close(): Promise<void>;
}

export async function startTestService(overrides: NodeJS.ProcessEnv = {}): Promise<TestService> {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  const database = `lopt_test_${id}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'silent',
    DATABASE_URL: `postgresql://postgres@127.0.0.1:5432/${database}`,
    LOPT_QUEUE_PREFIX: `lopt-test-${id}`,
    LOPT_MODELS: `gpt2-mini=${join(MODELS_DIR, 'gpt2-mini')}`,
    LOPT_BACKEND: 'wasm',
    ...overrides,
  };
  const config: Config = loadConfig(env);
  await applyMigrations(config.databaseUrl);
  const { deps, close } = await connectApiDeps(config, createLogger('silent'));
  const app = await buildApp(createLogger('silent'), deps);
  await app.ready();
  const workers = new Set<ChildProcess>();

  const killWorkers = () => {
    for (const worker of workers) worker.kill('SIGKILL');
  };
  const stop = async () => {
    killWorkers();
    await app.close();
    await deps.trainQueue.obliterate({ force: true }).catch(() => undefined);
    await close();
    const admin = new pg.Client({ connectionString: adminUrl(config.databaseUrl) });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  };

  const call: TestService['call'] = async (key, method, url, route, payload, contentType) => {
    const headers = { authorization: `Bearer ${key}`, ...(contentType ? { 'content-type': contentType } : {}) };
    const response = await app.inject({ method, url, headers, ...(payload !== undefined ? { payload } : {}) });
    const body = response.body === '' ? undefined : (response.json() as Record<string, any>);
    assertMatchesSpec(method, route, response.statusCode, body);
    return { status: response.statusCode, body: body ?? {} };
  };

  return {
    app,
    deps,
    env,
    call,
    async finishedJob(key, jobId, timeoutMs = 240_000) {
      for (const deadline = Date.now() + timeoutMs; ; await sleep(300)) {
        const { body: job } = await call(key, 'GET', `/v1/jobs/${jobId}`, '/v1/jobs/{id}');
        if (FINAL_STATUSES.includes(job.status)) return job;
        if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status} after ${timeoutMs} ms`);
      }
    },
    async storePrompt(key, { task, method = 'pt', n = 4, jobId = null, source = jobId ? 'trained' : 'peft', modelId = 'gpt2-mini' }) {
      const { tenantId } = (await deps.store.tenants.findByApiKey(key))!;
      const d = deps.models.get(modelId).dims.hiddenSize;
      const wave = Float32Array.from({ length: d }, (_, i) => Math.sin(i * 0.37) * 0.05);
      const X = { shape: [n, d], data: Float32Array.from({ length: n * d }, (_, i) => wave[i % d]!) };
      // lopt1 of rank 1: U all ones and V the wave, so X = U·V repeats the wave in every row.
      const tensors: Record<string, Tensor> = method === 'pt' ? { X } : { U: { shape: [n, 1], data: new Float32Array(n).fill(1) }, V: { shape: [1, d], data: wave }, X };
      return deps.store.prompts.create({
        tenantId, jobId, source, spec: { method, n, ...(method === 'pt' ? {} : { r: 1 }) }, modelId, method, n, r: method === 'pt' ? null : 1,
        activation: null, trainableParameters: method === 'pt' ? n * d : n + d, task, metrics: {}, tensors,
      });
    },
    async downloadPrompt(key, promptId, dir) {
      const file = await app.inject({ method: 'GET', url: `/v1/prompts/${promptId}/weights?format=safetensors`, headers: { authorization: `Bearer ${key}` } });
      if (file.statusCode !== 200) throw new Error(`the prompt's weights were refused: ${file.statusCode} ${file.body}`);
      const path = join(dir, `${promptId}.safetensors`);
      writeFileSync(path, file.rawPayload);
      return path;
    },
    newKey: async (name = 'tenant') => (await deps.store.tenants.createWithKey(name, 'test')).secret,
    async uploadTinyDataset(key) {
      const upload = await app.inject({
        method: 'POST',
        url: '/v1/datasets?name=tiny',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' },
        payload: TINY_SENTIMENT_JSONL,
      });
      if (upload.statusCode !== 201) throw new Error(`the tiny dataset was refused: ${upload.statusCode} ${upload.body}`);
      return upload.json().id as string;
    },
    startWorker(overrides = {}) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], { env: { ...env, ...overrides }, stdio: ['ignore', 'pipe', 'pipe'] });
      for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => process.env.LOPT_TEST_WORKER_LOGS && process.stderr.write(chunk));
      workers.add(child);
      child.on('exit', () => workers.delete(child));
      return child;
    },
    killWorkers,
    close: stop,
  };
}
