import assert from 'node:assert/strict';
import { test } from 'node:test';
import { majorityShare, prepareData, seededShuffle } from '../../src/eval/eval-data.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { parseDataset } from '../../src/engine/datasets/parse-dataset.js';
import type { EvalTaskId } from '../../src/eval/profiles.js';
import { DATASETS_DIR } from '../helpers/shared.js';

const preset = (id: EvalTaskId) => ({ id, title: TASK_CATALOG[id].title, reading: TASK_CATALOG[id].reading });
const rows = (id: EvalTaskId, content: string) => parseDataset(content, TASK_CATALOG[id].reading);
const budget = { steps: 1, batchSize: 1 };

test('the files uploaded keep their format and read back with the catalog preset, the same rows every time', () => {
  for (const task of ['sst2', 'ag_news', 'rte'] as const) {
    const plan = { task, trainRows: 50, validationRows: 10, evalRows: 20, budget };
    const data = prepareData(DATASETS_DIR, plan, preset(task));
    assert.equal(rows(task, data.train.content).length, 50, task);
    assert.equal(rows(task, data.validation.content).length, 10, task);
    assert.equal(rows(task, data.evaluation.content).length, 20, task);
    assert.deepEqual(prepareData(DATASETS_DIR, plan, preset(task)), data);
  }
});

test('RTE is scored on rows held out of its training file, never trained or tuned on; validation rows are never trained on', () => {
  const data = prepareData(DATASETS_DIR, { task: 'rte', trainRows: 2141, validationRows: 100, evalRows: 249, budget }, preset('rte'));
  const ids = (content: string) => parseDataset(content, { format: 'jsonl' }).map((row) => row.fields.idx);
  const train = new Set(ids(data.train.content));
  const validation = new Set(ids(data.validation.content));
  assert.equal(train.size, 2141);
  assert.equal(validation.size, 100);
  assert.ok(ids(data.evaluation.content).every((idx) => !train.has(idx) && !validation.has(idx)));
  assert.ok([...validation].every((idx) => !train.has(idx)));
  assert.match(data.evaluation.origin, /all 249 rows of the 10% of superglue\/RTE\/train.jsonl held out/);
  assert.match(data.validation.origin, /^100 rows carved out of the rest of superglue\/RTE\/train.jsonl for validation \(never trained on\)$/);
  assert.throws(() => prepareData(DATASETS_DIR, { task: 'rte', trainRows: 10, validationRows: 10, evalRows: 300, budget }, preset('rte')), /has 249 rows; the profile asks for 300/);
  assert.throws(() => prepareData(DATASETS_DIR, { task: 'rte', trainRows: 2241, validationRows: 100, evalRows: 249, budget }, preset('rte')), /has 2141 rows; the profile asks for 2241/);
});

test('AG News validation rows come from the training file and are never trained on', () => {
  const data = prepareData(DATASETS_DIR, { task: 'ag_news', trainRows: 500, validationRows: 100, evalRows: 50, budget }, preset('ag_news'));
  const lines = (content: string) => new Set(content.split('\n').slice(1));
  const train = lines(data.train.content);
  assert.ok([...lines(data.validation.content)].every((line) => !train.has(line)));
});

test('seeded shuffles repeat; the majority share is the most frequent label’s', () => {
  assert.deepEqual(seededShuffle([1, 2, 3, 4, 5], 7), seededShuffle([1, 2, 3, 4, 5], 7));
  assert.deepEqual([...seededShuffle([1, 2, 3, 4, 5], 7)].sort(), [1, 2, 3, 4, 5]);
  assert.equal(majorityShare(['a', 'b', 'a', 'c']), 0.5);
});
