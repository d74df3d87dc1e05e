import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkDatasetFitsTask } from '../../src/api/job-request.js';
import { DatasetSummarizer, MAX_DISTINCT_VALUES, summarizeRows } from '../../src/engine/datasets/dataset-summary.js';
import type { DatasetRow } from '../../src/engine/datasets/dataset-row.js';
import type { EngineError } from '../../src/engine/engine-error.js';
import { sequenceBound, summarySequenceBound } from '../../src/engine/tasks/task-encoder.js';
import type { TaskSpec } from '../../src/engine/tasks/task-spec.js';

const rows: DatasetRow[] = [
  { line: 2, fields: { text: 'a fine film', label: '1' } },
  { line: 3, fields: { text: 'dull', label: '0', note: 'x' } },
  { line: 4, fields: { label: '1' } },
  { line: 5, fields: { text: 'é'.repeat(30), label: 'maybe', note: 'y' } },
];
const task: TaskSpec = { kind: 'classification', template: '{text} It was', labelWords: { '0': ' terrible', '1': ' great' } };

test('a summary counts each field, where it is first missing, its longest value and its distinct values by first line', () => {
  const summary = summarizeRows(rows);
  assert.equal(summary.rows, 4);
  assert.equal(summary.firstLine, 2);
  assert.deepEqual(summary.fields.label, { present: 4, firstMissingLine: null, maxTextTokens: 6, values: { '1': 2, '0': 3, maybe: 5 } });
  assert.equal(summary.fields.text!.firstMissingLine, 4);
  assert.equal(summary.fields.note!.firstMissingLine, 2); // absent from the first row already
  assert.equal(summary.fields.text!.maxTextTokens, 91); // 30 × 'é', three bytes each decomposed (NFD), one token more
  // Stored as JSON and read back, it is the same.
  assert.deepEqual(JSON.parse(JSON.stringify(summary)), summary);
});

test('the submit check reports the earliest fault, as reading the rows would', () => {
  assert.throws(() => checkDatasetFitsTask(summarizeRows(rows), task, 'dataset d'), (err: EngineError) => err.code === 'DATASET_INVALID' && err.message === 'dataset d line 4: no field "text"');
  assert.throws(() => checkDatasetFitsTask(summarizeRows(rows.filter((r) => r.line !== 4)), task, 'dataset d'), (err: EngineError) => /line 5: unknown label "maybe" \(known: 0, 1\)/.test(err.message));
  checkDatasetFitsTask(summarizeRows(rows.slice(0, 2)), task, 'dataset d');
  // Own keys only: a label named like an Object method is unknown.
  assert.throws(() => checkDatasetFitsTask(summarizeRows([{ line: 1, fields: { text: 'x', label: 'constructor' } }]), task, 'd'), /unknown label "constructor"/);
});

test('a field of more distinct values than labels can have, or of values longer than a label, keeps none, and cannot be a label field', () => {
  const summarizer = new DatasetSummarizer();
  for (let i = 0; i <= MAX_DISTINCT_VALUES; i++) summarizer.add({ line: i + 1, fields: { text: 't', label: String(i), long: i === 0 ? 'x'.repeat(201) : 'y' } });
  const summary = summarizer.finish();
  assert.equal(summary.fields.label!.values, null);
  assert.equal(summary.fields.long!.values, null);
  assert.deepEqual(summary.fields.text!.values, { t: 1 });
  assert.throws(() => checkDatasetFitsTask(summary, task, 'd'), /field "label" has more than 1024 distinct values/);
});

test("the summary's sequence bound is at least the rows' own, and equal for a one-field template", () => {
  const options = { maxPositions: 128, promptRows: 4 };
  const complete = rows.filter((r) => r.fields.text !== undefined);
  assert.deepEqual(summarySequenceBound(task, summarizeRows(complete), options), sequenceBound(task, complete, options));
  const pair: TaskSpec = { kind: 'classification', template: '{a} / {b}?', labelWords: { y: ' yes', n: ' no' } };
  const pairs: DatasetRow[] = [{ line: 1, fields: { a: 'long premise here', b: 'x', label: 'y' } }, { line: 2, fields: { a: 'p', b: 'long hypothesis', label: 'n' } }];
  assert.ok(summarySequenceBound(pair, summarizeRows(pairs), options).positions >= sequenceBound(pair, pairs, options).positions);
});
