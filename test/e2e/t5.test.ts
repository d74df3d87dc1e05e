/**
 * T5, an encoder-decoder, through the whole service (real Redis, PostgreSQL, a worker process):
 * listed with its prompt stack, a classification prompt and a text-to-text prompt trained on
 * tiny-t5-random by queued jobs, their prompt files naming the encoder, predict and generate. The
 * model is random, so only the plumbing is judged.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readPromptFile } from '../../src/engine/prompt-file.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { startTestService, tinySentimentJob, type TestService } from '../helpers/service.js';
import { DATASETS_DIR, MODELS_DIR } from '../helpers/shared.js';
import { tempDir } from '../helpers/temp-dir.js';

let service: TestService;
let key: string;
const dir = tempDir();

const call = (method: 'GET' | 'POST', url: string, route: string, payload?: object | string, contentType?: string) => service.call(key, method, url, route, payload, contentType);

/** Submits `job`, waits for it to end, and checks that it succeeded and that its prompt file names the encoder. */
async function trained(job: object): Promise<string> {
  const submitted = await call('POST', '/v1/jobs', '/v1/jobs', job);
  assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
  const status = await service.finishedJob(key, submitted.body.id);
  assert.equal(status.status, 'succeeded', JSON.stringify(status.error));
  assert.deepEqual(readPromptFile(await service.downloadPrompt(key, status.promptId, dir)).model, { id: 'tiny-t5', type: 't5', hiddenSize: 64, stack: 'encoder' });
  return status.promptId as string;
}

before(async () => {
  service = await startTestService({ LOPT_MODELS: `gpt2-mini=${join(MODELS_DIR, 'gpt2-mini')},tiny-t5=${join(MODELS_DIR, 'tiny-t5-random')}` });
  key = await service.newKey('t5');
  service.startWorker();
});
after(() => service.close());

test('GET /v1/models gives T5 its family and the encoder as its prompt stack', async () => {
  const { status, body } = await call('GET', '/v1/models', '/v1/models');
  assert.equal(status, 200);
  const byId = Object.fromEntries(body.items.map((m: Record<string, unknown>) => [m.id, m]));
  assert.deepEqual([byId['tiny-t5'].modelType, byId['tiny-t5'].promptStack], ['t5', 'encoder']);
  assert.equal(byId['gpt2-mini'].promptStack, 'decoder');
});

test("a catalog task on T5 is T5's own format with the label names as targets; on GPT-2 the decoder-only template", async () => {
  const lines = readFileSync(join(DATASETS_DIR, 'superglue/RTE/train.jsonl'), 'utf8').split('\n').slice(0, 8).join('\n');
  const rte = await call('POST', '/v1/datasets?name=rte&preset=rte', '/v1/datasets', lines, 'application/octet-stream');
  assert.equal(rte.status, 201, JSON.stringify(rte.body));
  const job = (model: string) => call('POST', '/v1/jobs', '/v1/jobs', { model, datasetId: rte.body.id, task: 'rte', method: 'lopt1', n: 4, r: 2, hyperparameters: { maxSteps: 1 } });
  const [onT5, onGpt2] = [await job('tiny-t5'), await job('gpt2-mini')];
  assert.deepEqual(onT5.body.spec.task, TASK_CATALOG.rte.encoderTask);
  assert.deepEqual(onGpt2.body.spec.task, TASK_CATALOG.rte.task);
  for (const { body } of [onT5, onGpt2]) await call('POST', `/v1/jobs/${body.id}/cancel`, '/v1/jobs/{id}/cancel');
});

test('a classification prompt trains on tiny-t5-random through the queue, and predicts', { timeout: 300_000 }, async () => {
  const datasetId = await service.uploadTinyDataset(key);
  const promptId = await trained(tinySentimentJob(datasetId, { model: 'tiny-t5', task: 'sst2', hyperparameters: { maxSteps: 2 } }));
  const predicted = await call('POST', `/v1/prompts/${promptId}/predict`, '/v1/prompts/{id}/predict', { texts: ['a fine film', 'a dull mess'] });
  assert.equal(predicted.status, 200, JSON.stringify(predicted.body));
  for (const { label, probabilities } of predicted.body.predictions) {
    assert.ok(Object.keys(probabilities).includes(label));
    assert.ok(Math.abs(Object.values(probabilities as Record<string, number>).reduce((a, b) => a + b, 0) - 1) < 1e-6);
  }
});

test('a text-to-text prompt trains on tiny-t5-random, and generates from the decoder start', { timeout: 300_000 }, async () => {
  const qa = ['{"question":"Capital of France?","target":"Paris"}', '{"question":"Capital of Italy?","target":"Rome"}', '{"question":"Capital of Spain?","target":"Madrid"}'].join('\n');
  const upload = await call('POST', '/v1/datasets?name=qa', '/v1/datasets', qa, 'application/x-ndjson');
  assert.equal(upload.status, 201, JSON.stringify(upload.body));
  const promptId = await trained({
    model: 'tiny-t5', datasetId: upload.body.id, task: { kind: 'text-to-text', template: 'question: {question}', maxTargetTokens: 6 }, method: 'lopt2', n: 4, r: 2, hyperparameters: { maxSteps: 2 },
  });
  const generated = await call('POST', `/v1/prompts/${promptId}/generate`, '/v1/prompts/{id}/generate', { texts: ['Capital of Peru?'], maxNewTokens: 4 });
  assert.equal(generated.status, 200, JSON.stringify(generated.body));
  assert.equal(generated.body.outputs.length, 1);
  assert.equal(typeof generated.body.outputs[0].text, 'string');
});
