import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { assertMatchesSpec } from '../helpers/openapi-responses.js';
import { DATASETS_DIR } from '../helpers/shared.js';
import { startTestService, type TestService } from '../helpers/service.js';

let service: TestService;
let key: string;

const head = (file: string, lines: number) => readFileSync(join(DATASETS_DIR, file), 'utf8').split('\n').slice(0, lines).join('\n');

async function call(method: 'GET' | 'POST', url: string, payload?: string | object, contentType?: string) {
  const response = await service.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}`, ...(contentType ? { 'content-type': contentType } : {}) },
    ...(payload !== undefined ? { payload } : {}),
  });
  const route = url.split('?')[0]!.replace(/\/v1\/jobs\/[^/]+$/, '/v1/jobs/{id}');
  assertMatchesSpec(method, route, response.statusCode, response.json());
  return response;
}

before(async () => {
  service = await startTestService();
  key = await service.newKey('catalog');
});
after(() => service.close());

test('GET /v1/tasks lists the catalog', async () => {
  const response = await call('GET', '/v1/tasks');
  assert.equal(response.statusCode, 200);
  const items = response.json().items as Array<{ id: string; task: unknown; reading: { columns: object } }>;
  assert.deepEqual(items.map((item) => item.id), ['sst2', 'ag_news', 'rte', 'cb', 'boolq']);
  assert.deepEqual(items[0]!.task, TASK_CATALOG.sst2.task);
  assert.deepEqual(items[2]!.reading.columns, TASK_CATALOG.rte.reading.columns);
});

test('an upload with ?preset= is read as the task’s files are, and a job names its task by id', async () => {
  const sst2 = await call('POST', '/v1/datasets?name=sst2-head&preset=sst2', head('sst2/dev.tsv', 21), 'text/plain');
  assert.equal(sst2.statusCode, 201, sst2.body);
  assert.equal(sst2.json().format, 'tsv');
  assert.equal(sst2.json().rowCount, 20);
  assert.deepEqual(sst2.json().columns, { text: 'sentence', label: 'label' });

  const job = await call('POST', '/v1/jobs', { model: 'gpt2-mini', datasetId: sst2.json().id, task: 'sst2', method: 'lopt1', n: 20, r: 4 });
  assert.equal(job.statusCode, 202, job.body);
  assert.deepEqual(job.json().spec.task, TASK_CATALOG.sst2.task);
  assert.equal(job.json().trainableParameters, 4 * (20 + 256));
  assert.equal((await call('GET', `/v1/jobs/${job.json().id}`)).json().trainableParameters, 4 * (20 + 256));

  const rte = await call('POST', '/v1/datasets?name=rte-head&preset=rte', head('superglue/RTE/train.jsonl', 10), 'application/octet-stream');
  assert.equal(rte.statusCode, 201, rte.body);
  const pt = await call('POST', '/v1/jobs', { model: 'gpt2-mini', datasetId: rte.json().id, task: 'rte', method: 'pt', n: 10 });
  assert.equal(pt.statusCode, 202, pt.body);
  assert.equal(pt.json().trainableParameters, 10 * 256);
  // A catalog task whose labels the data does not have is refused like a spelled-out one.
  const mismatch = await call('POST', '/v1/jobs', { model: 'gpt2-mini', datasetId: rte.json().id, task: 'sst2', method: 'pt' });
  assert.equal(mismatch.statusCode, 400);
  assert.equal(mismatch.json().error.code, 'DATASET_INVALID');
});

test('unknown task ids are refused', async () => {
  const upload = await call('POST', '/v1/datasets?preset=imdb', 'text,label\nx,1\n', 'text/csv');
  assert.equal(upload.statusCode, 400);
  assert.equal(upload.json().error.code, 'VALIDATION_FAILED');
  const job = await call('POST', '/v1/jobs', { model: 'gpt2-mini', examples: [{ text: 'x', label: '1' }], task: 'imdb', method: 'pt' });
  assert.equal(job.statusCode, 400);
  assert.equal(job.json().error.code, 'VALIDATION_FAILED');
});
