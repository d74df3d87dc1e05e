import assert from 'node:assert/strict';
import { test } from 'node:test';
import { majorityShare, prepareData, seededShuffle } from '../../src/eval/eval-data.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { parseDataset } from '../../src/engine/datasets/parse-dataset.js';
import type { EvalTaskId } from '../../src/eval/profiles.js';
import { DATASETS_DIR } from '../helpers/shared.js';

const preset = (id: EvalTaskId) => ({ id, title: TASK_CATALOG[id].title, reading: TASK_CATALOG[id].reading });
const rows = (id: EvalTaskId, content: string) => parseDataset(content, TASK_CATALOG[id].reading);
const budget = { steps: 1, batchSize: 1, learningRate: 0.03 };

test('the files uploaded keep their format and read back with the catalog preset, the same rows every time', () => {
  for (const task of ['sst2', 'ag_news', 'rte'] as const) {
    const plan = { task, trainRows: 50, evalRows: 20, budget };
    const data = prepareData(DATASETS_DIR, plan, preset(task));
    assert.equal(rows(task, data.train.content).length, 50, task);
    assert.equal(rows(task, data.evaluation.content).length, 20, task);
    assert.deepEqual(prepareData(DATASETS_DIR, plan, preset(task)), data);
  }
});

test('RTE is scored on rows held out of its training file and never trained on', () => {
  const data = prepareData(DATASETS_DIR, { task: 'rte', trainRows: 2241, evalRows: 249, budget }, preset('rte'));
  const ids = (content: string) => parseDataset(content, { format: 'jsonl' }).map((row) => row.fields.idx);
  const train = new Set(ids(data.train.content));
  assert.equal(train.size, 2241);
  assert.ok(ids(data.evaluation.content).every((idx) => !train.has(idx)));
  assert.match(data.evaluation.origin, /all 249 rows of the 10% of superglue\/RTE\/train.jsonl held out/);
  assert.throws(() => prepareData(DATASETS_DIR, { task: 'rte', trainRows: 10, evalRows: 300, budget }, preset('rte')), /has 249 rows; the profile asks for 300/);
});

test('seeded shuffles repeat; the majority share is the most frequent label’s', () => {
  assert.deepEqual(seededShuffle([1, 2, 3, 4, 5], 7), seededShuffle([1, 2, 3, 4, 5], 7));
  assert.deepEqual([...seededShuffle([1, 2, 3, 4, 5], 7)].sort(), [1, 2, 3, 4, 5]);
  assert.equal(majorityShare(['a', 'b', 'a', 'c']), 0.5);
});
