/**
 * A prompt evaluated on a dataset as a queued job on a real worker: the report (accuracy,
 * macro-F1, confusion matrix, per-class counts) agrees with itself and with what predict answers
 * for the same rows; the evaluation is listed, has a job's events, and bad requests are refused.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseDataset } from '../../src/engine/datasets/parse-dataset.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { DATASETS_DIR } from '../helpers/shared.js';

let service: TestService;
let key: string;

const call = (method: 'GET' | 'POST' | 'DELETE', url: string, route: string, payload?: object | string, contentType?: string) =>
  service.call(key, method, url, route, payload, contentType);
const AG_NEWS = TASK_CATALOG.ag_news;
const ROWS = parseDataset(readFileSync(join(DATASETS_DIR, 'ag_news', 'dev.csv'), 'utf8'), AG_NEWS.reading).slice(0, 40).map(({ fields }) => ({ text: fields.text!, label: fields.label! }));
const jsonl = (rows: Array<Record<string, string>>) => rows.map((row) => JSON.stringify(row)).join('\n');

async function upload(rows: Array<Record<string, string>>): Promise<string> {
  const { status, body } = await call('POST', '/v1/datasets?name=eval', '/v1/datasets', jsonl(rows), 'application/x-ndjson');
  assert.equal(status, 201, JSON.stringify(body));
  return body.id;
}

/** A pt prompt of 4 rows for gpt2-mini, stored as an import would store it. */
const storedPrompt = async (task: object) => (await service.storePrompt(key, { task })).id;

before(async () => {
  service = await startTestService({ LOPT_MAX_EVAL_ROWS_TOTAL: '100' });
  key = await service.newKey('evaluator');
  service.startWorker();
});
after(() => service.close());

test('an evaluation runs on a worker and reports what predict answers for the same rows', { timeout: 300_000 }, async () => {
  const promptId = await storedPrompt(AG_NEWS.task);
  const datasetId = await upload(ROWS);
  const queued = await call('POST', `/v1/prompts/${promptId}/evaluations`, '/v1/prompts/{id}/evaluations', { datasetId, limit: 30 });
  assert.equal(queued.status, 202, JSON.stringify(queued.body));
  assert.deepEqual([queued.body.status, queued.body.promptId, queued.body.limit, queued.body.result], ['queued', promptId, 30, null]);
  const job = await service.finishedJob(key, queued.body.id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  assert.equal(job.kind, 'evaluate');

  const { body: evaluation } = await call('GET', `/v1/prompts/${promptId}/evaluations/${queued.body.id}`, '/v1/prompts/{id}/evaluations/{evaluationId}');
  const report = evaluation.result;
  const labels = Object.keys(AG_NEWS.task.labelWords);
  assert.deepEqual([report.examples, report.labels, report.labelWords], [30, labels, AG_NEWS.task.labelWords]);
  const matrix: number[][] = report.confusionMatrix;
  assert.equal(matrix.flat().reduce((a, b) => a + b, 0), 30);
  assert.equal(report.accuracy, labels.reduce((sum, _, c) => sum + matrix[c]![c]!, 0) / 30);
  for (const [c, label] of labels.entries()) {
    const support = ROWS.slice(0, 30).filter((row) => row.label === label).length;
    const { support: reported, predicted, correct, f1 } = report.perClass[label];
    assert.deepEqual([reported, predicted, correct], [support, matrix.reduce((sum, row) => sum + row[c]!, 0), matrix[c]![c]]);
    assert.ok(Math.abs(f1 - (support + predicted ? (2 * correct) / (support + predicted) : 0)) < 1e-12);
  }
  assert.ok(Math.abs(report.macroF1 - labels.reduce((sum, label) => sum + report.perClass[label].f1, 0) / labels.length) < 1e-12);
  assert.ok(report.loss > 0);

  // predict, on the same rows with the same stored X, fills the same matrix; it names each label's word too.
  const predicted = await call('POST', `/v1/prompts/${promptId}/predict`, '/v1/prompts/{id}/predict', { texts: ROWS.slice(0, 30).map((row) => row.text) });
  assert.equal(predicted.status, 200);
  const fromPredict = labels.map(() => labels.map(() => 0));
  predicted.body.predictions.forEach((p: { label: string; labelWord: string }, i: number) => {
    assert.equal(p.labelWord, AG_NEWS.task.labelWords[p.label as keyof typeof AG_NEWS.task.labelWords]);
    fromPredict[labels.indexOf(ROWS[i]!.label)]![labels.indexOf(p.label)]! += 1;
  });
  assert.deepEqual(fromPredict, matrix);

  const { body: listed } = await call('GET', `/v1/prompts/${promptId}/evaluations`, '/v1/prompts/{id}/evaluations');
  assert.deepEqual(listed.items.map((e: { id: string }) => e.id), [queued.body.id]);
  const { body: events } = await call('GET', `/v1/jobs/${queued.body.id}/events`, '/v1/jobs/{id}/events');
  assert.deepEqual(events.data.map((e: { data: { status?: string } }) => e.data?.status).filter(Boolean), ['queued', 'running', 'succeeded']);
  assert.match(events.data.at(-1).message, /^evaluated 30 examples: accuracy /);
});

test('evaluations that cannot run are refused before they are queued', async () => {
  const promptId = await storedPrompt(AG_NEWS.task);
  const datasetId = await upload(ROWS);
  const evaluate = (id: string, body: object) => call('POST', `/v1/prompts/${id}/evaluations`, '/v1/prompts/{id}/evaluations', body);
  const generating = await storedPrompt({ kind: 'text-to-text', template: 'Q: {question} A:' });
  assert.deepEqual([(await evaluate(generating, { datasetId })).body.error.code], ['WRONG_TASK']);
  assert.equal((await evaluate(promptId, { datasetId: '0b0e2a4c-6f7d-4f1e-9a55-2a3b5c7d9e01' })).status, 404);
  const unknownLabel = await upload([{ text: 'a headline', label: '9' }]);
  const refused = await evaluate(promptId, { datasetId: unknownLabel });
  assert.deepEqual([refused.status, refused.body.error.code], [400, 'DATASET_INVALID']);
  const many = await upload([...ROWS, ...ROWS, ...ROWS]);
  const tooMany = await evaluate(promptId, { datasetId: many });
  assert.deepEqual([tooMany.status, tooMany.body.error.code, tooMany.body.error.details.setting], [400, 'JOB_TOO_LARGE', 'LOPT_MAX_EVAL_ROWS_TOTAL']);
  assert.equal((await evaluate(promptId, { datasetId: many, limit: 100 })).status, 202);
  assert.equal((await call('GET', `/v1/prompts/${promptId}/evaluations/${datasetId}`, '/v1/prompts/{id}/evaluations/{evaluationId}')).status, 404);
});
