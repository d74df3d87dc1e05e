/**
 * A configured model too large for the process's memory, against the real service: readiness
 * names it, a job for it fails once with MODEL_TOO_LARGE (no retries), and the API can be told to
 * leave it out of its inference thread. The model only declares its size (config.json): nothing
 * large is ever allocated.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MODELS_DIR } from '../helpers/shared.js';
import { startTestService, tinySentimentJob, type TestService } from '../helpers/service.js';
import { tempDir } from '../helpers/temp-dir.js';

const MINI = join(MODELS_DIR, 'gpt2-mini');
const root = tempDir();

/** gpt2-mini's files under a config.json that declares ~600 GiB of weights. */
async function hugeModelFolder(): Promise<string> {
  const dir = join(root, 'huge');
  await mkdir(dir);
  for (const file of ['model.safetensors', 'vocab.json', 'merges.txt', 'tokenizer_config.json']) copyFileSync(join(MINI, file), join(dir, file));
  const config = JSON.parse(readFileSync(join(MINI, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, n_embd: 16384, n_head: 128, n_layer: 576 }));
  return dir;
}

const hugeModel = hugeModelFolder();
const services: TestService[] = [];
after(() => Promise.all(services.map((s) => s.close())));

async function start(env: NodeJS.ProcessEnv): Promise<TestService> {
  const service = await startTestService({ LOPT_MODELS: `gpt2-mini=${MINI},huge=${await hugeModel}`, ...env });
  services.push(service);
  await service.deps.inference.ready();
  return service;
}

test('readiness names a model the API cannot hold; leaving it out of inference makes the API ready', { timeout: 120_000 }, async () => {
  const all = await start({});
  const refused = await all.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(refused.statusCode, 503, refused.body);
  const { error } = refused.json();
  assert.equal(error.code, 'NOT_READY');
  assert.match(error.message, /cannot load huge; .* LOPT_INFERENCE_MODELS/);
  assert.deepEqual(Object.keys(error.details.models), ['huge']);
  assert.match(error.details.models.huge, /needs \d+\.\d+ GiB for its weights .* has \d+\.\d+ GiB free/);

  const trainingOnly = await start({ LOPT_INFERENCE_MODELS: 'gpt2-mini' });
  const ready = await trainingOnly.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 200, ready.body);
});

/** Submits the tiny job for `model`; returns a reader of its state. */
async function submit(service: TestService, model: string) {
  const key = await service.newKey();
  const datasetId = await service.uploadTinyDataset(key);
  const submitted = await service.app.inject({
    method: 'POST', url: '/v1/jobs', headers: { authorization: `Bearer ${key}` }, payload: tinySentimentJob(datasetId, { model }),
  });
  assert.equal(submitted.statusCode, 202, submitted.body);
  const { id } = submitted.json() as { id: string };
  const read = async () => (await service.app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: { authorization: `Bearer ${key}` } })).json();
  return {
    id,
    read,
    async final(timeoutMs: number): Promise<Record<string, any>> {
      let job: Record<string, any> = {};
      for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(200)) {
        job = await read();
        if (!['queued', 'running'].includes(job.status)) break;
      }
      return job;
    },
  };
}

test('a job for a model too large for the worker fails once with MODEL_TOO_LARGE, not retried', { timeout: 180_000 }, async () => {
  const service = await start({ LOPT_INFERENCE_MODELS: 'gpt2-mini' });
  const { id, final } = await submit(service, 'huge');
  service.startWorker();
  const job = await final(150_000);
  assert.equal(job.status, 'failed', JSON.stringify(job));
  assert.equal(job.error.code, 'MODEL_TOO_LARGE');
  assert.match(job.error.message, /needs \d+\.\d+ GiB for its weights/);
  // The job's row ends before the worker hands the failure to the queue: wait for the queue's side.
  let queued = await service.deps.trainQueue.getJob(id);
  for (const deadline = Date.now() + 20_000; !(await queued?.isFailed()) && Date.now() < deadline; await sleep(100)) {
    queued = await service.deps.trainQueue.getJob(id);
  }
  assert.ok(await queued?.isFailed(), 'the queue failed the job');
  // isFailed() reads the state afresh, the job's fields are as fetched: fetch them once it has failed.
  queued = await service.deps.trainQueue.getJob(id);
  assert.equal(queued?.attemptsMade, 1, 'the refusal used one attempt and was not retried');
});

test('a worker that does not load a model leaves its jobs to one that does, using no attempt', { timeout: 240_000 }, async () => {
  const service = await start({ LOPT_INFERENCE_MODELS: 'gpt2-mini' });
  const huge = await submit(service, 'huge');
  const mini = await submit(service, 'gpt2-mini');
  service.startWorker({ LOPT_WORKER_MODELS: 'gpt2-mini' });
  assert.equal((await mini.final(150_000)).status, 'succeeded');
  await sleep(3000); // past a hand-back delay or two
  assert.equal((await huge.read()).status, 'queued', 'the gpt2-mini worker never runs the other job');
  assert.equal((await service.deps.trainQueue.getJob(huge.id))?.attemptsMade, 0, 'handing it back used no attempt');
  service.startWorker({ LOPT_WORKER_MODELS: 'huge' });
  const job = await huge.final(150_000);
  assert.equal(job.status, 'failed');
  assert.equal(job.error.code, 'MODEL_TOO_LARGE', 'the worker that loads it took it (and refused it, as it is too large)');
});
