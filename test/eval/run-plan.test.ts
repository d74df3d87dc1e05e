import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROFILES } from '../../src/eval/profiles.js';
import { planRuns } from '../../src/eval/run-plan.js';

test('quick: PT, LoPT-1 and LoPT-2 at n = 20, r = 4 on three datasets, one seed', () => {
  const runs = planRuns(PROFILES.quick!);
  assert.equal(runs.length, 9);
  assert.deepEqual(new Set(runs.map((run) => run.task)), new Set(['sst2', 'ag_news', 'rte']));
  assert.ok(runs.every((run) => run.n === 20 && run.r === (run.method === 'pt' ? null : 4) && run.seed === 0));
});

test('full: three seeds, and the n × r grid without r > n and without repeating the comparison run', () => {
  const runs = planRuns(PROFILES.full!);
  assert.equal(new Set(runs.map((run) => run.key)).size, runs.length);
  const grid = runs.filter((run) => run.task === 'sst2' && run.method === 'lopt1');
  assert.equal(grid.length, 15 * 3); // 4 × 4 cells, less n = 5 with r = 8
  assert.ok(!grid.some((run) => run.r! > run.n));
  assert.equal(runs.length, 27 + 14 * 3);
  // Every run of a dataset shares its budget.
  for (const task of ['sst2', 'ag_news', 'rte']) assert.equal(new Set(runs.filter((run) => run.task === task).map((run) => run.budget)).size, 1);
});
