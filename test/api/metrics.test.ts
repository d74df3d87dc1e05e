/**
 * Prometheus metrics of the API (on its own port, with LOPT_METRICS_ON_API_PORT) and of a worker
 * process (on LOPT_WORKER_METRICS_PORT), scraped while a job is queued, trains and is cancelled.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { buildApp } from '../../src/api/app.js';
import { startTestService, tinySentimentJob, type TestService } from '../helpers/service.js';

let service: TestService;
let key: string;

/** The value of the series `name{labels}` in Prometheus text, or undefined when it is not there. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const scrapeApi = async () => {
  const response = await service.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(response.statusCode, 200);
  assert.match(response.headers['content-type'] as string, /^text\/plain/);
  return response.body;
};

before(async () => {
  service = await startTestService({ LOPT_METRICS_ON_API_PORT: 'true' });
  key = await service.newKey('metrics');
});
after(() => service.close());

test("the API's metrics count requests by route and status, and show the queue's and the store's jobs, without a key", async () => {
  await service.call(key, 'GET', '/v1/models', '/v1/models');
  await service.call(key, 'GET', '/v1/jobs/0b0e2a4c-6f7d-4f1e-9a55-2a3b5c7d9e01', '/v1/jobs/{id}');
  const datasetId = await service.uploadTinyDataset(key);
  const { body: job } = await service.call(key, 'POST', '/v1/jobs', '/v1/jobs', tinySentimentJob(datasetId));
  const prompt = await service.storePrompt(key, { task: tinySentimentJob('').task });
  assert.equal((await service.call(key, 'POST', `/v1/prompts/${prompt.id}/predict`, '/v1/prompts/{id}/predict', { texts: ['fine', 'dull', 'fun'] })).status, 200);
  const text = await scrapeApi();
  assert.equal(sample(text, 'lopt_inference_inputs_sum', { call: 'classify' }), 3);
  assert.equal(sample(text, 'lopt_inference_duration_seconds_count', { call: 'classify', outcome: 'ok' }), 1);
  assert.ok(sample(text, 'lopt_http_requests_total', { method: 'GET', route: '/v1/models', status: '200' })! >= 1);
  assert.equal(sample(text, 'lopt_http_requests_total', { method: 'GET', route: '/v1/jobs/:id', status: '404' }), 1);
  assert.ok(sample(text, 'lopt_http_request_duration_seconds_count', { route: '/v1/datasets', status: '201' })! >= 1);
  assert.equal(sample(text, 'lopt_queue_jobs', { state: 'waiting' }), 1);
  assert.equal(sample(text, 'lopt_jobs', { kind: 'train', status: 'queued' }), 1);
  assert.deepEqual([sample(text, 'lopt_store_reachable', { store: 'redis' }), sample(text, 'lopt_store_reachable', { store: 'postgresql' })], [1, 1]);
  assert.ok(sample(text, 'process_resident_memory_bytes', { process: 'api' })! > 0);
  await service.call(key, 'POST', `/v1/jobs/${job.id}/cancel`, '/v1/jobs/{id}/cancel');
  assert.equal(sample(await scrapeApi(), 'lopt_jobs', { kind: 'train', status: 'cancelled' }), 1);
});

test("a worker's metrics show the running job's step time, loss and throughput, its model's load time, and how its runs ended", { timeout: 240_000 }, async () => {
  const port = await freePort();
  service.startWorker({ LOPT_WORKER_METRICS_PORT: String(port) });
  const datasetId = await service.uploadTinyDataset(key);
  const { body: job } = await service.call(key, 'POST', '/v1/jobs', '/v1/jobs', tinySentimentJob(datasetId, { hyperparameters: { maxSteps: 5_000, batchSize: 2, evalEvery: 0 } }));
  const scrape = async () => {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
    return response?.ok ? response.text() : '';
  };
  let text = '';
  for (const deadline = Date.now() + 120_000; !(sample(text, 'lopt_training_step', { job_id: job.id })! >= 3); await sleep(250)) {
    assert.ok(Date.now() < deadline, 'the worker reported no training steps');
    text = await scrape();
  }
  assert.ok(sample(text, 'lopt_training_step_seconds_count', { model: 'gpt2-mini' })! >= 3);
  assert.ok(sample(text, 'lopt_training_loss', { job_id: job.id, model: 'gpt2-mini' })! > 0);
  assert.ok(sample(text, 'lopt_training_tokens_per_second', { job_id: job.id })! > 0);
  assert.ok(sample(text, 'lopt_model_load_seconds', { model: 'gpt2-mini' })! > 0);
  assert.ok(sample(text, 'process_resident_memory_bytes', { process: 'worker' })! > 0);
  assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 404);

  await service.call(key, 'POST', `/v1/jobs/${job.id}/cancel`, '/v1/jobs/{id}/cancel');
  for (const deadline = Date.now() + 60_000; sample(text, 'lopt_worker_job_runs_total', { kind: 'train', outcome: 'cancelled' }) !== 1; await sleep(250)) {
    assert.ok(Date.now() < deadline, 'the cancelled run was not counted');
    text = await scrape();
  }
  assert.equal(sample(text, 'lopt_training_loss', { job_id: job.id }), undefined);
});

test('each request is logged once, as it is answered, with its status and time', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => void (lines.push(...chunk.toString().trim().split('\n').map((line) => JSON.parse(line))), done()) });
  const app = await buildApp(pino({ level: 'info' }, sink), service.deps);
  await app.inject({ method: 'GET', url: '/v1/models', headers: { authorization: `Bearer ${key}` } });
  await app.inject({ method: 'GET', url: '/v1/models' });
  await app.close();
  const requests = lines.filter((line) => line.msg === 'request');
  assert.deepEqual(requests.map((line) => [line.method, line.url, line.statusCode]), [['GET', '/v1/models', 200], ['GET', '/v1/models', 401]]);
  assert.ok(requests.every((line) => typeof line.ms === 'number'));
  assert.deepEqual(lines.filter((line) => /incoming request|request completed/.test(String(line.msg))), []);
});
