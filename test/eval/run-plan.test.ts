import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROFILES } from '../../src/eval/profiles.js';
import { estimateSeconds, profileSteps, unmetRequirements } from '../../src/eval/requirements.js';
import { planFinalRuns, planTuningRuns, settingKey, type TrainingSetting } from '../../src/eval/run-plan.js';
import type { RunResult } from '../../src/eval/run-jobs.js';
import { chooseSettings, gridEdge } from '../../src/eval/tuning.js';

const full = PROFILES.full!;

test('tuning: every method at every learning rate (LoPT-2 at every σ too), at n = 20 and r = 4, on the tuning seed', () => {
  const runs = planTuningRuns(full);
  assert.equal(runs.length, 2 * (4 + 4 + 4 * 2)); // two datasets; PT, LoPT-1, LoPT-2 × {tanh, sigmoid}; four rates
  assert.deepEqual(new Set(runs.map((run) => run.learningRate)), new Set([0.003, 0.01, 0.03, 0.1]));
  assert.equal(new Set(runs.map((run) => run.key)).size, runs.length);
  assert.ok(runs.every((run) => run.phase === 'tune' && run.n === 20 && run.r === (run.method === 'pt' ? null : 4) && run.seed === 0));
  assert.deepEqual(new Set(runs.filter((run) => run.method === 'lopt2').map((run) => run.activation)), new Set(['tanh', 'sigmoid']));
  assert.ok(runs.filter((run) => run.method !== 'lopt2').every((run) => run.activation === null));
});

test('final: the comparison at every rank on every seed with the chosen settings, and the ablation without r > n or repeats', () => {
  const chosen = new Map<string, TrainingSetting>([
    [settingKey('ag_news', 'pt'), { learningRate: 0.3, activation: null }],
    [settingKey('ag_news', 'lopt1'), { learningRate: 0.03, activation: null }],
    [settingKey('ag_news', 'lopt2'), { learningRate: 0.1, activation: 'sigmoid' }],
    [settingKey('sst2', 'pt'), { learningRate: 0.01, activation: null }],
    // sst2/lopt1 and sst2/lopt2 have no setting (all their tuning runs failed): left out.
  ]);
  const runs = planFinalRuns(full, chosen);
  assert.equal(new Set(runs.map((run) => run.key)).size, runs.length);
  const comparison = runs.filter((run) => run.n === 20 && (run.method === 'pt' || [1, 2, 4].includes(run.r!)));
  assert.equal(comparison.filter((run) => run.task === 'ag_news').length, 3 * (1 + 3 + 3));
  assert.equal(runs.filter((run) => run.task === 'sst2').length, 3);
  const grid = runs.filter((run) => run.task === 'ag_news' && run.method === 'lopt1' && run.seed === 0);
  assert.equal(grid.length, 15); // 4 × 4 cells, less n = 5 with r = 8; its n = 20, r ∈ {1, 2, 4} cells are comparison runs
  assert.ok(!grid.some((run) => run.r! > run.n));
  assert.ok(runs.filter((run) => run.task === 'ag_news' && run.method === 'lopt1').every((run) => run.learningRate === 0.03));
  assert.ok(runs.filter((run) => run.method === 'lopt2').every((run) => run.activation === 'sigmoid' && run.learningRate === 0.1));
  assert.equal(runs.length, 21 + 3 + (15 - 3));
  // Every run of a dataset shares its budget.
  for (const task of ['sst2', 'ag_news']) assert.equal(new Set(runs.filter((run) => run.task === task).map((run) => run.budget)).size, 1);
});

test('chooseSettings takes the best validation accuracy, ties to the lower validation loss, and skips methods whose runs all failed', () => {
  const result = (run: RunResult['run'], accuracy: number | null, evalLoss: number | null) =>
    ({ run, jobId: 'j', status: accuracy === null ? 'failed' : 'succeeded', accuracy, evalLoss, macroF1: null, trainableParameters: 1, wallSeconds: 1, loss: [], error: null }) as RunResult;
  const pt = planTuningRuns(PROFILES.quick!).filter((run) => run.task === 'ag_news' && run.method === 'pt');
  const lopt1 = planTuningRuns(PROFILES.quick!).filter((run) => run.task === 'ag_news' && run.method === 'lopt1');
  const { chosen, tunings } = chooseSettings([
    result(pt[0]!, 0.5, 1.2), result(pt[1]!, 0.6, 1.1), result(pt[2]!, 0.6, 1.0),
    ...lopt1.map((run) => result(run, null, null)),
  ]);
  assert.deepEqual(chosen.get(settingKey('ag_news', 'pt')), { learningRate: pt[2]!.learningRate, activation: null });
  assert.equal(chosen.has(settingKey('ag_news', 'lopt1')), false);
  assert.equal(tunings.find((t) => t.method === 'lopt1')!.chosen, null);
  assert.equal(tunings.find((t) => t.method === 'pt')!.points[0]!.accuracy, 50);
  // quick's grid is 0.01, 0.03, 0.1: PT chose 0.1, its highest rate; LoPT-1 chose nothing.
  assert.equal(gridEdge(tunings.find((t) => t.method === 'pt')!), 'highest');
  assert.equal(gridEdge(tunings.find((t) => t.method === 'lopt1')!), null);
  const inside = chooseSettings([result(pt[0]!, 0.5, 1.2), result(pt[1]!, 0.7, 1.1), result(pt[2]!, 0.6, 1.0)]).tunings[0]!;
  assert.equal(gridEdge(inside), null);
  const lowest = chooseSettings([result(pt[0]!, 0.8, 1.2), result(pt[1]!, 0.7, 1.1), result(pt[2]!, 0.6, 1.0)]).tunings[0]!;
  assert.equal(gridEdge(lowest), 'lowest');
});

test('the paper profile names its needs, refuses a 2-core 24 GiB machine, and estimates its time from its steps', () => {
  const paper = PROFILES.paper!;
  const needs = paper.requirements!;
  assert.equal(needs.model, 'gpt2-large');
  assert.deepEqual(unmetRequirements(needs, { cores: 2, memoryGiB: 24 }), ['32 GiB of memory (this machine has 24)', '16 cores (this machine has 2)']);
  assert.deepEqual(unmetRequirements(needs, { cores: 16, memoryGiB: 64 }), []);
  // 40 tuning runs and 54 final runs (21 per dataset, 12 ablation cells beyond the comparison), 1,000 steps each.
  assert.equal(profileSteps(paper), 94_000);
  assert.equal(estimateSeconds(94_000, needs, 16), 199_750); // 17 s a step on 2 cores, 8× the cores
  assert.equal(PROFILES.full!.requirements, undefined);
});
