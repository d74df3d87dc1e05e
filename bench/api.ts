/**
 * The API under load: starts a real API process (bench/service-process.ts: no training workers,
 * its own database), seeds it through its own routes (a 998-row AG News upload, a queued job,
 * four imported LoPT-1 prompts per model), then drives each route with autocannon from this
 * process and prints throughput and latency per row:
 *
 *   predict, one request at a time (1 text)          GET /v1/jobs/{id}, 32 connections
 *   predict, 32 concurrent over 4 prompts            GET /v1/models, 32 connections
 *   (both again per extra model)                     GET /healthz, 32 connections
 *                                                    POST /v1/jobs on the upload, 16 connections
 *
 *   npm run bench:api -- [--duration 10] [--model gpt2-small=DIR ...] [--only predict,reads,submits]
 *
 * Extra environment (LOPT_BACKEND, LOPT_NATIVE_KERNELS, …) passes through to the API process.
 * Load and service share the machine's cores, so the figures are pessimistic.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { resolvePromptSpec } from '../src/engine/prompts/prompt-spec.js';
import { encodePromptFile } from '../src/engine/prompt-file.js';
import { Rng } from '../src/engine/random.js';
import { TASK_CATALOG } from '../src/engine/tasks/task-catalog.js';
import { DATASETS_DIR, MODELS_DIR } from '../test/helpers/shared.js';
import { startServiceProcess } from './service-process.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    model: { type: 'string', multiple: true, default: [] },
    only: { type: 'string', default: 'predict,reads,submits' },
  },
});
const DURATION_S = Number(args.duration);
const PARTS = new Set(args.only.split(','));
const EXTRA_MODELS = args.model.map((entry) => {
  const [id, dir] = entry.split('=');
  if (!id || !dir) throw new Error(`--model wants id=folder, got "${entry}"`);
  return { id, dir };
});
const SENTENCES = [
  'Stocks fell sharply on Wall Street as oil prices rose.',
  'The striker scored twice in the second half to win the cup.',
  'A new chip promises faster phones and longer battery life.',
  'Leaders met in Geneva to discuss the ceasefire.',
];

const service = await startServiceProcess({
  LOPT_METRICS_ON_API_PORT: 'true', // the inference thread's batch sizes are read from /metrics
  LOPT_MODELS: [`gpt2-mini=${join(MODELS_DIR, 'gpt2-mini')}`, ...EXTRA_MODELS.map(({ id, dir }) => `${id}=${dir}`)].join(','),
});
const auth = { authorization: `Bearer ${service.key}` };

async function call(method: string, path: string, body?: string | Buffer, contentType = 'application/json'): Promise<Record<string, any>> {
  const response = await fetch(`${service.base}${path}`, { method, headers: { ...auth, 'content-type': contentType }, ...(body !== undefined ? { body } : {}) });
  const answer = (await response.json()) as Record<string, any>;
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(answer)}`);
  return answer;
}

/** A LoPT-1 prompt (n 20, r 4) of random factors for `model`, imported as a prompt file. */
async function importPrompt(model: { id: string; type: string; hiddenSize: number }, seed: number): Promise<string> {
  const [n, r, d] = [20, 4, model.hiddenSize];
  const rng = new Rng(seed);
  const random = (size: number, scale: number) => Float32Array.from({ length: size }, () => (rng.next() - 0.5) * scale);
  const U = random(n * r, 1);
  const V = random(r * d, 0.1);
  const X = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let k = 0; k < r; k++) for (let j = 0; j < d; j++) X[i * d + j]! += U[i * r + k]! * V[k * d + j]!;
  const file = encodePromptFile({
    model: { ...model, stack: 'decoder' }, task: TASK_CATALOG.ag_news.task, metrics: {},
    spec: resolvePromptSpec({ method: 'lopt1', n, r }, d), trainableParameters: r * (n + d),
    tensors: new Map([['U', { shape: [n, r], data: U }], ['V', { shape: [r, d], data: V }], ['X', { shape: [n, d], data: X }]]),
  });
  const prompt = await call('POST', '/v1/prompts', JSON.stringify({ model: model.id, format: 'prompt-file', file: file.toString('base64') }));
  return prompt.id as string;
}

interface Row {
  readonly what: string;
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly failed: number;
}

const rows: Row[] = [];

/** The inference thread's batches so far: how many, and inputs in all. */
async function batchTotals(): Promise<{ count: number; inputs: number }> {
  const text = await (await fetch(`${service.base}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { count: value('lopt_inference_batch_inputs_count'), inputs: value('lopt_inference_batch_inputs_sum') };
}

async function load(what: string, connections: number, requests: autocannon.Request[]): Promise<void> {
  const options = { url: service.base, connections, headers: { ...auth, 'content-type': 'application/json' }, requests };
  await autocannon({ ...options, duration: 2 }); // warm: kernels, caches, connections
  const before = await batchTotals();
  const result = await autocannon({ ...options, duration: DURATION_S });
  const after = await batchTotals();
  const batches = after.count - before.count;
  const row = { what, requestsPerSecond: result['2xx'] / result.duration, p50: result.latency.p50, p99: result.latency.p99, failed: result.non2xx + result.errors };
  rows.push(row);
  console.log(`${what.padEnd(52)} ${row.requestsPerSecond.toFixed(0).padStart(7)} req/s   p50 ${row.p50.toFixed(1).padStart(7)} ms   p99 ${row.p99.toFixed(1).padStart(7)} ms${batches ? `   mean batch ${((after.inputs - before.inputs) / batches).toFixed(1)} inputs` : ''}${row.failed ? `   ${row.failed} failed` : ''}`);
}

try {
  const models = ((await call('GET', '/v1/models')).items as Array<{ id: string; modelType: string; hiddenSize: number }>).map(({ id, modelType, hiddenSize }) => ({ id, type: modelType, hiddenSize }));
  const dataset = await call('POST', '/v1/datasets?name=agnews-dev&preset=ag_news', readFileSync(join(DATASETS_DIR, 'ag_news', 'dev.csv')), 'text/csv');
  const jobBody = JSON.stringify({ model: 'gpt2-mini', datasetId: dataset.id, task: 'ag_news', method: 'lopt1', n: 20, r: 4, hyperparameters: { maxSteps: 10 } });
  const job = await call('POST', '/v1/jobs', jobBody);
  console.log(`API pid ${service.pid}; ${dataset.rowCount}-row dataset, job ${job.id}; ${DURATION_S} s per row after 2 s of warm-up`);

  if (PARTS.has('predict')) {
    for (const model of models) {
      const prompts = await Promise.all([0, 1, 2, 3].map((seed) => importPrompt(model, seed)));
      const predict = prompts.map((id, i) => ({ method: 'POST' as const, path: `/v1/prompts/${id}/predict`, body: JSON.stringify({ texts: [SENTENCES[i]] }) }));
      await load(`predict ${model.id}, one request at a time (1 text)`, 1, predict);
      await load(`predict ${model.id}, 32 concurrent over 4 prompts`, 32, predict);
    }
  }
  if (PARTS.has('reads')) {
    await load('GET /v1/jobs/{id}, 32 connections', 32, [{ method: 'GET', path: `/v1/jobs/${job.id}` }]);
    await load('GET /v1/models (auth only), 32 connections', 32, [{ method: 'GET', path: '/v1/models' }]);
    await load('GET /healthz (no auth, no store), 32 connections', 32, [{ method: 'GET', path: '/healthz' }]);
  }
  if (PARTS.has('submits')) {
    await load(`POST /v1/jobs (a ${dataset.rowCount}-row dataset), 16 connections`, 16, [{ method: 'POST', path: '/v1/jobs', body: jobBody }]);
  }
  if (rows.some((row) => row.failed > 0)) process.exitCode = 1;
  await sleep(2000); // requests autocannon stopped waiting for still finish on the server
} finally {
  await service.stop();
}
