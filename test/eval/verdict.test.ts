import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfigSummary } from '../../src/eval/summarize.js';
import { datasetVerdict } from '../../src/eval/verdict.js';

const summary = (method: 'pt' | 'lopt1' | 'lopt2', accuracy: number | null, std = 0, params = 5120): ConfigSummary => ({
  task: 'ag_news',
  method,
  n: 20,
  r: method === 'pt' ? null : 4,
  setting: { learningRate: 0.03, activation: method === 'lopt2' ? 'tanh' : null },
  trainableParameters: params,
  results: [],
  accuracy: accuracy === null ? null : { mean: accuracy, std, runs: 3 },
  macroF1: null,
  wallSeconds: null,
});

test('LoPT matching PT (within 1 point, or the seeds’ spread) on a learnt task: the claim held', () => {
  const verdict = datasetVerdict(summary('pt', 46), [summary('lopt1', 45.2, 0, 1104), summary('lopt2', 47, 0, 2048)], 25);
  assert.deepEqual(verdict.outcomes, [{ config: 'LoPT-1 r = 4', outcome: 'held' }, { config: 'LoPT-2 r = 4', outcome: 'held' }]);
  assert.match(verdict.text, /LoPT-1 r = 4 \(4\.6× fewer parameters\) 45\.2 %, −0\.8 points: matches PT within ±1\.0/);
  assert.match(verdict.text, /LoPT-2 .* \+1\.0 points: matches PT/);
});

test('a variant further below PT than the tolerance: the claim did not hold for it; a wide seed spread widens the tolerance', () => {
  const mixed = datasetVerdict(summary('pt', 46), [summary('lopt1', 45.5), summary('lopt2', 43)], 25);
  assert.deepEqual(mixed.outcomes.map((o) => o.outcome), ['held', 'did not hold']);
  assert.match(mixed.text, /LoPT-2 .* −3\.0 points: below PT by more than ±1\.0/);
  const noisy = datasetVerdict(summary('pt', 46, 3), [summary('lopt1', 43, 4)], 25);
  assert.deepEqual(noisy.outcomes, [{ config: 'LoPT-1 r = 4', outcome: 'held' }]);
  assert.match(noisy.text, /±5\.0/);
});

test('a task no method learns, or failed runs, cannot test the claim', () => {
  const chance = datasetVerdict(summary('pt', 51), [summary('lopt1', 50.5)], 50);
  assert.deepEqual(chance.outcomes, [{ config: 'LoPT-1 r = 4', outcome: 'untestable' }]);
  assert.match(chance.text, /does not learn this task/);
  assert.equal(datasetVerdict(summary('pt', 46), [summary('lopt1', null)], 25).outcomes[0]!.outcome, 'untestable');
});
