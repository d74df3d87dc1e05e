/**
 * Predict latency through the HTTP API (in-process Fastify on a port, real PostgreSQL, inference
 * thread): p50/p99 of one request at a time, and of 32 concurrent requests spread over 4
 * prompts. The prompts are stored directly (random lopt1 weights): latency does not depend on
 * what a prompt learnt.
 *
 *   npm run bench:predict -- [--rounds N]
 */
import { parseArgs } from 'node:util';
import { resolvePromptSpec } from '../src/engine/prompts/prompt-spec.js';
import { startTestService } from '../test/helpers/service.js';
import { TASK_CATALOG } from '../src/engine/tasks/task-catalog.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '20' } } });
const ROUNDS = Number(args.rounds);
const SENTENCES = [
  'Stocks fell sharply on Wall Street as oil prices rose.',
  'The striker scored twice in the second half to win the cup.',
  'A new chip promises faster phones and longer battery life.',
  'Leaders met in Geneva to discuss the ceasefire.',
];

const service = await startTestService();
await service.app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(service.app.server.address() as { port: number }).port}`;
const key = await service.newKey('bench');
const { tenantId } = (await service.deps.store.tenants.findByApiKey(key))!;
const dataset = await service.deps.store.datasets.create({ tenantId, name: 'bench', format: 'jsonl', columns: null, rowCount: 0, sizeBytes: 0, sha256: '', content: new Uint8Array() });

const n = 20;
const r = 4;
const d = 256;
const random = (size: number) => Float32Array.from({ length: size }, () => (Math.random() - 0.5) * 0.1);
const promptIds: string[] = [];
for (let i = 0; i < 4; i++) {
  const spec = { prompt: resolvePromptSpec({ method: 'lopt1', n, r }, d) };
  const { job } = await service.deps.store.jobs.create({ tenantId, modelId: 'gpt2-mini', datasetId: dataset.id, validationDatasetId: null, spec, totalSteps: null, idempotencyKey: null });
  const prompt = await service.deps.store.prompts.create({
    tenantId, jobId: job.id, source: 'trained', spec: spec.prompt, modelId: 'gpt2-mini', method: 'lopt1', n, r, activation: null, trainableParameters: r * (n + d),
    task: TASK_CATALOG.ag_news.task, metrics: {},
    tensors: { U: { shape: [n, r], data: random(n * r) }, V: { shape: [r, d], data: random(r * d) }, X: { shape: [n, d], data: random(n * d) } },
  });
  promptIds.push(prompt.id);
}

async function predict(promptId: string, text: string): Promise<number> {
  const start = performance.now();
  const response = await fetch(`${base}/v1/prompts/${promptId}/predict`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ texts: [text] }),
  });
  if (response.status !== 200) throw new Error(`predict answered ${response.status}: ${await response.text()}`);
  await response.json();
  return performance.now() - start;
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;
const report = (label: string, values: number[]) =>
  console.log(`${label.padEnd(44)} p50 ${percentile(values, 50).toFixed(0).padStart(5)} ms   p99 ${percentile(values, 99).toFixed(0).padStart(5)} ms   (${values.length} requests)`);

for (let i = 0; i < 4; i++) await predict(promptIds[i]!, SENTENCES[i]!); // warm: model load, kernels, prompt cache

const single: number[] = [];
for (let i = 0; i < ROUNDS * 4; i++) single.push(await predict(promptIds[i % 4]!, SENTENCES[i % 4]!));
report('1 request at a time', single);

const concurrent: number[] = [];
const started = performance.now();
for (let round = 0; round < ROUNDS; round++) {
  concurrent.push(...(await Promise.all(Array.from({ length: 32 }, (_, i) => predict(promptIds[i % 4]!, SENTENCES[(i + round) % 4]!)))));
}
report('32 concurrent requests across 4 prompts', concurrent);
console.log(`throughput with 32 in flight: ${((concurrent.length / (performance.now() - started)) * 1000).toFixed(1)} requests/s`);
await service.close();
