/**
 * A whole service on Redis and PostgreSQL servers of its own, for fault tests: the API in-process,
 * worker processes that a test kills, stops, pauses and restarts, and the checks every scenario
 * ends with — each job in one final state, one prompt per succeeded job, one training row per
 * step written in step order (no two runs interleaved), nothing written after a job's end, and
 * the queue done with it.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, PrismaClient } from '../../src/db/generated/client.js';
import { createPrismaClient } from '../../src/db/prisma-client.js';
import { parseDataset } from '../../src/engine/datasets/parse-dataset.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { startOwnPostgres, startOwnRedis, type OwnStore } from './own-stores.js';
import { startTestService, type TestService } from './service.js';
import { DATASETS_DIR } from './shared.js';

const FINAL = ['succeeded', 'failed', 'cancelled'];

/** 64 AG News rows; a job of batch 4 runs `maxSteps` steps over them. */
const EXAMPLES = parseDataset(readFileSync(join(DATASETS_DIR, 'ag_news', 'train.csv'), 'utf8'), TASK_CATALOG.ag_news.reading)
  .slice(0, 64)
  .map(({ fields }) => ({ text: fields.text!, label: fields.label! }));

export interface FaultRig {
  readonly service: TestService;
  readonly redis: OwnStore;
  readonly postgres: OwnStore;
  /** The service's database, read directly. */
  readonly prisma: PrismaClient;
  /** An HTTP request to the API with the rig's key. */
  request(method: 'GET' | 'POST', url: string, payload?: object): Promise<{ statusCode: number; body: any; headers: Record<string, unknown> }>;
  submit(maxSteps: number): Promise<string>;
  job(id: string): Promise<Job>;
  /** Waits until `check` holds for the job's row. */
  waitFor(id: string, what: string, check: (job: Job) => boolean, timeoutMs?: number): Promise<Job>;
  /** Waits until the job reaches `step`, or ends. */
  waitForStep(id: string, step: number, timeoutMs?: number): Promise<Job>;
  waitAllFinal(ids: string[], timeoutMs: number): Promise<Job[]>;
  /** The scenario's closing checks; returns the jobs' final rows. */
  assertJobsSettled(ids: string[]): Promise<Job[]>;
  startWorker(): ChildProcess;
  close(): Promise<void>;
}

export async function startFaultRig(env: NodeJS.ProcessEnv = {}): Promise<FaultRig> {
  const [redis, postgres] = await Promise.all([startOwnRedis(), startOwnPostgres()]);
  const service = await startTestService({
    DATABASE_URL: `${postgres.url}/lopt_faults`,
    REDIS_URL: redis.url,
    LOPT_CHECKPOINT_EVERY: '5',
    LOPT_JOB_LOCK_MS: '3000',
    LOPT_RECONCILE_EVERY_MS: '1000',
    LOPT_STORE_GRACE_MS: '120000',
    // Workers log warnings, which scenarios read; with LOPT_TEST_WORKER_LOGS set, everything, shown (service.ts).
    LOG_LEVEL: process.env.LOPT_TEST_WORKER_LOGS ? 'info' : 'warn',
    ...env,
  });
  const prisma = createPrismaClient(service.env.DATABASE_URL!);
  const key = await service.newKey('faults');

  const request: FaultRig['request'] = async (method, url, payload) => {
    const response = await service.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload ? { payload } : {}) });
    return { statusCode: response.statusCode, body: response.body ? JSON.parse(response.body) : null, headers: response.headers };
  };
  const job = async (id: string) => prisma.job.findUniqueOrThrow({ where: { id } });
  const waitFor: FaultRig['waitFor'] = async (id, what, check, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const row = await job(id).catch(() => undefined);
      if (row && check(row)) return row;
      if (Date.now() > deadline) throw new Error(`job ${id}: ${what} did not happen within ${timeoutMs} ms (now ${row?.status} at step ${row?.step})`);
      await sleep(100);
    }
  };

  return {
    service,
    redis,
    postgres,
    prisma,
    request,
    async submit(maxSteps) {
      const response = await request('POST', '/v1/jobs', {
        model: 'gpt2-mini',
        examples: EXAMPLES,
        task: 'ag_news',
        method: 'lopt1',
        n: 4,
        r: 2,
        hyperparameters: { maxSteps, batchSize: 4, evalEvery: 0 },
      });
      assert.equal(response.statusCode, 202, JSON.stringify(response.body));
      return response.body.id as string;
    },
    job,
    waitFor,
    waitForStep: (id, step, timeoutMs) => waitFor(id, `step ${step}`, (row) => row.step >= step || FINAL.includes(row.status), timeoutMs),
    async waitAllFinal(ids, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      return Promise.all(ids.map((id) => waitFor(id, 'a final state', (row) => FINAL.includes(row.status), Math.max(1, deadline - Date.now()))));
    },
    async assertJobsSettled(ids) {
      const jobs = await Promise.all(ids.map(job));
      for (const row of jobs) {
        const where = { jobId: row.id };
        assert.ok(FINAL.includes(row.status), `job ${row.id} ended ${row.status}`);
        assert.ok(row.finishedAt, `job ${row.id} has its end time`);
        assert.equal(await prisma.prompt.count({ where }), row.status === 'succeeded' ? 1 : 0, `job ${row.id} (${row.status}): prompts`);
        assert.equal(await prisma.checkpoint.count({ where }), 0, `job ${row.id}: no checkpoint left behind`);
        const steps = await prisma.metric.findMany({ where: { ...where, split: 'train' }, orderBy: { step: 'asc' }, select: { step: true, createdAt: true } });
        if (row.status === 'succeeded') {
          assert.deepEqual(steps.map((m) => m.step), Array.from({ length: row.totalSteps! }, (_, i) => i + 1), `job ${row.id}: one training row per step`);
        }
        for (let i = 1; i < steps.length; i++) {
          assert.ok(steps[i]!.createdAt >= steps[i - 1]!.createdAt, `job ${row.id}: step ${steps[i]!.step} was written before step ${steps[i - 1]!.step} (two runs interleaved)`);
        }
        const late = await prisma.metric.count({ where: { ...where, createdAt: { gt: row.finishedAt! } } });
        assert.equal(late, 0, `job ${row.id}: rows written after its end`);
      }
      // The queue is done with every job too (completed or failed, nothing left to run).
      const deadline = Date.now() + 10_000;
      for (const row of jobs) {
        for (;;) {
          const state = await service.deps.trainQueue.getJobState(row.id);
          if (['completed', 'failed', 'unknown'].includes(state)) break;
          if (Date.now() > deadline) assert.fail(`job ${row.id} is still ${state} in the queue after it ended ${row.status}`);
          await sleep(200);
        }
      }
      return jobs;
    },
    startWorker: () => service.startWorker(),
    async close() {
      await prisma.$disconnect();
      await service.close();
      await Promise.all([redis.close(), postgres.close()]);
    },
  };
}

/** Everything a worker logs from now on (pino's JSON lines), as one growing string. */
export function workerLog(worker: ChildProcess): { readonly text: string } {
  const log = { text: '' };
  worker.stdout!.on('data', (chunk: Buffer) => (log.text += chunk.toString('utf8')));
  return log;
}

/** Sends a signal to a worker and, for SIGKILL and SIGTERM, waits for it to exit. */
export async function signalWorker(worker: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const exited = worker.exitCode !== null ? Promise.resolve() : new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.kill(signal);
  if (signal === 'SIGKILL' || signal === 'SIGTERM') await exited;
}
