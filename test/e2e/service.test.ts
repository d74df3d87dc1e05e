/**
 * The whole service against real Redis, PostgreSQL, worker processes and gpt2-mini: upload, train
 * (surviving a killed worker), download, predict; a cancelled job; a job failed by its data.
 * AG News, not SST-2: gpt2-mini learns topics but stays at chance on sentiment (its model card).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { parseDataset } from '../../src/engine/datasets/parse-dataset.js';
import { readSafetensors } from '../../src/engine/safetensors.js';
import { assertMatchesSpec } from '../helpers/openapi-responses.js';
import { DATASETS_DIR } from '../helpers/shared.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { maxAbsDiff } from '../helpers/tensors.js';

let service: TestService;
let key: string;
let baseUrl: string;

const agNews = (file: string) =>
  parseDataset(readFileSync(join(DATASETS_DIR, 'ag_news', file), 'utf8'), TASK_CATALOG.ag_news.reading).map(({ fields }) => ({ label: fields.label!, text: fields.text! }));
const toCsv = (rows: Array<{ label: string; text: string }>) => ['label,content', ...rows.map((r) => `${r.label},"${r.text.replaceAll('"', '""')}"`)].join('\n');
const TRAIN_CSV = toCsv(agNews('train.csv').slice(0, 1500));
const DEV = agNews('dev.csv');
const VALIDATION_CSV = toCsv(DEV.slice(0, 150));
/** Held-out sentences for predict: dev rows not used for validation. */
const HELD_OUT = DEV.slice(300, 428);

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return response;
}
const json = async (response: Response) => (await response.json()) as Record<string, any>;
/** The body of a response, checked against the schema openapi.yaml gives for its route and status. */
async function specJson(response: Response, method: string, route: string): Promise<Record<string, any>> {
  const body = await json(response);
  assertMatchesSpec(method, route, response.status, body);
  return body;
}

async function upload(name: string, csv: string): Promise<string> {
  const response = await api('POST', `/v1/datasets?name=${name}&columns=text=content,label=label`, csv, { 'content-type': 'text/csv' });
  assert.equal(response.status, 201);
  return (await specJson(response, 'POST', '/v1/datasets')).id;
}

async function waitFor(jobId: string, done: (job: Record<string, any>) => boolean, timeoutMs: number): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await specJson(await api('GET', `/v1/jobs/${jobId}`), 'GET', '/v1/jobs/{id}');
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status} at step ${job.progress?.step}`);
    await sleep(300);
  }
}

const TASK = {
  kind: 'classification',
  template: '{text} Topic:',
  labelWords: { '1': ' World', '2': ' Sports', '3': ' Business', '4': ' science' },
};

before(async () => {
  service = await startTestService({ LOPT_CHECKPOINT_EVERY: '5', LOPT_JOB_LOCK_MS: '3000' });
  await service.app.listen({ host: '127.0.0.1', port: 0 });
  const address = service.app.server.address() as { port: number };
  baseUrl = `http://127.0.0.1:${address.port}`;
  key = await service.newKey('e2e');
  service.startWorker();
});
after(() => service.close());

test('a LoPT-1 job trains through the service, survives a killed worker, and its prompt predicts', { timeout: 600_000 }, async () => {
  const datasetId = await upload('agnews-train', TRAIN_CSV);
  const validationDatasetId = await upload('agnews-dev', VALIDATION_CSV);
  const submitted = Date.now();
  const created = await api('POST', '/v1/jobs', {
    model: 'gpt2-mini',
    datasetId,
    validationDatasetId,
    task: TASK,
    method: 'lopt1',
    n: 10,
    r: 4,
    seed: 1,
    hyperparameters: { batchSize: 16, maxSteps: 120, learningRate: 0.1, evalEvery: 60 },
  });
  assert.equal(created.status, 202);
  const jobId = (await specJson(created, 'POST', '/v1/jobs')).id;

  const progressed = await waitFor(jobId, (job) => (job.progress?.step ?? 0) >= 12, 180_000);
  assert.equal(progressed.status, 'running');
  service.killWorkers(); // a crash: no checkpoint on the way out, the lock simply expires
  service.startWorker();
  const job = await waitFor(jobId, (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status), 480_000);
  const seconds = (Date.now() - submitted) / 1000;
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  assert.equal(job.progress.step, 120);
  assert.equal(job.progress.totalSteps, 120);
  assert.equal(job.progress.etaSeconds, undefined, 'an ended job has no ETA');
  process.stderr.write(`# e2e job: submit → succeeded in ${seconds.toFixed(1)} s; best ${JSON.stringify(job.bestMetrics)}\n`);

  const metrics = await specJson(await api('GET', `/v1/jobs/${jobId}/metrics?split=train`), 'GET', '/v1/jobs/{id}/metrics');
  const firstSteps = metrics.items.filter((m: { step: number }) => m.step === 1);
  assert.equal(firstSteps.length, 1, 'resumed from its checkpoint, not restarted from step 0');
  const steps = new Set(metrics.items.map((m: { step: number }) => m.step));
  assert.equal(steps.size, 120);
  const validation = await json(await api('GET', `/v1/jobs/${jobId}/metrics?split=validation`));
  assert.deepEqual(validation.items.map((m: { step: number }) => m.step), [60, 120]);

  const prompt = await specJson(await api('GET', `/v1/prompts/${job.promptId}`), 'GET', '/v1/prompts/{id}');
  assert.equal(prompt.trainableParameters, 4 * (10 + 256));
  assert.deepEqual(prompt.shapes, { U: [10, 4], V: [4, 256], X: [10, 256] });

  const weights = await specJson(await api('GET', `/v1/prompts/${job.promptId}/weights?format=json`), 'GET', '/v1/prompts/{id}/weights');
  const { U, V, X } = weights.tensors;
  const product = Array.from({ length: 10 * 256 }, (_, i) => {
    const [row, col] = [Math.floor(i / 256), i % 256];
    return Array.from({ length: 4 }, (_, k) => U.data[row * 4 + k] * V.data[k * 256 + col]).reduce((a, b) => a + b, 0);
  });
  assert.ok(maxAbsDiff(product, X.data) < 1e-5, 'X = U·V');
  const file = await api('GET', `/v1/prompts/${job.promptId}/weights?format=safetensors`);
  assert.equal(file.status, 200);
  const stored = readSafetensors({ bytes: new Uint8Array(await file.arrayBuffer()), name: 'download' });
  assert.deepEqual(Array.from(stored.tensors.get('U')!.data), U.data);
  assert.equal(JSON.parse(stored.metadata.spec!).method, 'lopt1');

  let correct = 0;
  for (let start = 0; start < HELD_OUT.length; start += 64) {
    const batch = HELD_OUT.slice(start, start + 64);
    const response = await api('POST', `/v1/prompts/${job.promptId}/predict`, { texts: batch.map((e) => e.text) });
    assert.equal(response.status, 200);
    const { predictions } = await specJson(response, 'POST', '/v1/prompts/{id}/predict');
    predictions.forEach((p: { label: string }, i: number) => (correct += Number(p.label === batch[i]!.label)));
  }
  const accuracy = correct / HELD_OUT.length;
  process.stderr.write(`# e2e predict accuracy on ${HELD_OUT.length} held-out AG News dev sentences: ${accuracy.toFixed(3)} (chance 0.25)\n`);
  assert.ok(accuracy > 0.3, `accuracy ${accuracy}`);

  const stranger = await service.newKey('stranger');
  for (const path of [`/v1/jobs/${jobId}`, `/v1/prompts/${job.promptId}`, `/v1/prompts/${job.promptId}/weights`, `/v1/datasets/${datasetId}`]) {
    const response = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${stranger}` } });
    assert.equal(response.status, 404, path);
    assertMatchesSpec('GET', path.replace(/[0-9a-f-]{36}/, '{id}'), 404, await response.json());
  }
});

test('a running job is cancelled within a step and says so', { timeout: 300_000 }, async () => {
  const datasetId = await upload('agnews-cancel', TRAIN_CSV);
  const created = await json(await api('POST', '/v1/jobs', { model: 'gpt2-mini', datasetId, task: TASK, method: 'pt', n: 4, hyperparameters: { maxSteps: 5000 } }));
  await waitFor(created.id, (job) => job.status === 'running' && (job.progress?.step ?? 0) >= 2, 180_000);
  const cancelled = await api('POST', `/v1/jobs/${created.id}/cancel`);
  assert.equal(cancelled.status, 200);
  await specJson(cancelled, 'POST', '/v1/jobs/{id}/cancel');
  const asked = Date.now();
  const job = await waitFor(created.id, (j) => j.status === 'cancelled', 60_000);
  assert.ok(Date.now() - asked < 15_000);
  assert.equal(job.error.code, 'CANCELLED');
  assert.match(job.error.message, /cancelled after \d+ steps/);
  assert.ok(job.progress.step < 5000);
  assert.equal(job.promptId, null);
});

test('a job whose data the engine cannot use fails with the reason', { timeout: 300_000 }, async () => {
  const datasetId = await upload('agnews-bad', 'label,content\n1,"Markets rally"\n2,""\n3,"Rates rise"\n');
  const created = await json(await api('POST', '/v1/jobs', { model: 'gpt2-mini', datasetId, validationFraction: 0.3, task: { ...TASK, template: '{text}' }, method: 'lopt2', n: 4, r: 2 }));
  const job = await waitFor(created.id, (j) => ['failed', 'succeeded'].includes(j.status), 120_000);
  assert.equal(job.status, 'failed');
  assert.equal(job.error.code, 'DATASET_INVALID');
  assert.match(job.error.message, /line 3: the filled template is empty/);
});
