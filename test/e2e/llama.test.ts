/**
 * A Llama-family model through the whole service (real Redis, PostgreSQL, a worker process):
 * listed with its family, a prompt trained on tiny-llama-random by a queued job, stored,
 * downloaded and used for predictions. The model is random, so only the plumbing is judged.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readPromptFile } from '../../src/engine/prompt-file.js';
import { startTestService, tinySentimentJob, type TestService } from '../helpers/service.js';
import { MODELS_DIR } from '../helpers/shared.js';
import { tempDir } from '../helpers/temp-dir.js';

let service: TestService;
let key: string;

const call = (method: 'GET' | 'POST', url: string, route: string, payload?: object) => service.call(key, method, url, route, payload);

before(async () => {
  service = await startTestService({
    LOPT_MODELS: `gpt2-mini=${join(MODELS_DIR, 'gpt2-mini')},tiny-llama=${join(MODELS_DIR, 'tiny-llama-random')},tiny-qwen2=${join(MODELS_DIR, 'tiny-qwen2-random')}`,
  });
  key = await service.newKey('llama');
  service.startWorker();
});
after(() => service.close());

test('GET /v1/models lists each model with its family', async () => {
  const { status, body } = await call('GET', '/v1/models', '/v1/models');
  assert.equal(status, 200);
  const byId = Object.fromEntries(body.items.map((m: Record<string, unknown>) => [m.id, m]));
  assert.equal(byId['tiny-llama'].modelType, 'llama');
  assert.equal(byId['tiny-qwen2'].modelType, 'qwen2');
  assert.equal(byId['tiny-llama'].hiddenSize, 64);
});

test('a prompt trains on tiny-llama-random through the queue, and predicts with it', { timeout: 300_000 }, async () => {
  const datasetId = await service.uploadTinyDataset(key);
  const submitted = await call('POST', '/v1/jobs', '/v1/jobs', tinySentimentJob(datasetId, { model: 'tiny-llama', hyperparameters: { maxSteps: 3 } }));
  assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
  const job = await service.finishedJob(key, submitted.body.id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  assert.equal(job.progress.step, 3);

  // The downloaded prompt file names the model and its family.
  const contents = readPromptFile(await service.downloadPrompt(key, job.promptId, tempDir()));
  assert.deepEqual(contents.model, { id: 'tiny-llama', type: 'llama', hiddenSize: 64, stack: 'decoder' });
  assert.deepEqual(contents.tensors.get('V')?.shape, [2, 64]);

  const predicted = await call('POST', `/v1/prompts/${job.promptId}/predict`, '/v1/prompts/{id}/predict', { texts: ['a fine film', 'a dull mess'] });
  assert.equal(predicted.status, 200, JSON.stringify(predicted.body));
  assert.equal(predicted.body.predictions.length, 2);
  for (const { label, probabilities } of predicted.body.predictions) {
    assert.ok(['0', '1'].includes(label));
    assert.ok(Math.abs(probabilities['0'] + probabilities['1'] - 1) < 1e-6);
  }
});
