import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupBy, lastTenthChange, mean, meanCurve, pairedDifference, std, tailState, trailingMean } from '../../src/eval/stats.js';

test('mean and sample standard deviation', () => {
  assert.equal(mean([1, 2, 3, 6]), 3);
  assert.equal(std([2, 4, 4, 4, 5, 5, 7, 9]), Math.sqrt(32 / 7));
  assert.equal(std([42]), 0);
  assert.throws(() => mean([]), /no values/);
});

test('trailingMean averages the window ending at each point', () => {
  assert.deepEqual(trailingMean([2, 4, 6, 8], 2), [2, 3, 5, 7]);
  assert.deepEqual(trailingMean([1, 2, 3], 1), [1, 2, 3]);
  assert.throws(() => trailingMean([1], 0), /window/);
});

test('meanCurve averages curves step by step, over the curves that have the step', () => {
  const a = [{ step: 1, loss: 2 }, { step: 2, loss: 1 }];
  const b = [{ step: 1, loss: 4 }];
  assert.deepEqual(meanCurve([a, b]), [{ step: 1, loss: 3 }, { step: 2, loss: 1 }]);
});

test('pairedDifference compares seed by seed, over the seeds both have, with a Student-t interval', () => {
  const pt = new Map([[0, 50], [1, 52], [2, 54], [3, 60]]);
  const lopt = new Map([[0, 49], [1, 52], [2, 52]]);
  const paired = pairedDifference(pt, lopt)!;
  assert.equal(paired.pairs, 3);
  assert.equal(paired.mean, -1);
  assert.equal(paired.std, 1);
  assert.ok(Math.abs(paired.halfWidth95! - (4.303 * 1) / Math.sqrt(3)) < 1e-12);
  assert.equal(pairedDifference(pt, new Map([[1, 50]]))!.halfWidth95, null);
  assert.equal(pairedDifference(pt, new Map([[9, 50]])), null);
});

test('lastTenthChange compares the last tenth of a loss curve with the tenth before it', () => {
  const curve = (losses: number[]) => losses.map((loss, i) => ({ step: i + 1, loss }));
  // 20 points: tenths of 2; the last two average 1.5, the two before 2. Their spreads (0 and √½)
  // give a standard error of √((0 + ½) / 2) = ½ on the difference: 1.96 × ½ / 2 relative to 2.
  assert.deepEqual(lastTenthChange(curve([...Array<number>(16).fill(9), 2, 2, 1, 2])), { change: -0.25, halfWidth95: 0.49 });
  assert.deepEqual(lastTenthChange(curve(Array<number>(40).fill(0.7))), { change: 0, halfWidth95: 0 });
  assert.equal(lastTenthChange(curve(Array<number>(19).fill(1))), null);
});

test('tailState calls a move of up to 2 % flat, a larger one inside its noise interval within noise, and one beyond both moving', () => {
  assert.equal(tailState({ change: -0.02, halfWidth95: 0 }), 'flat');
  assert.equal(tailState({ change: 0.015, halfWidth95: 0.001 }), 'flat');
  assert.equal(tailState({ change: -0.03, halfWidth95: 0.04 }), 'within noise');
  assert.equal(tailState({ change: -0.03, halfWidth95: 0.01 }), 'moving');
  assert.equal(tailState({ change: 0.05, halfWidth95: 0.049 }), 'moving');
});

test('groupBy keeps the order of the groups’ first items and of the items within each', () => {
  assert.deepEqual(groupBy(['b1', 'a1', 'b2', 'c1', 'a2'], (item) => item[0]!), [['b1', 'b2'], ['a1', 'a2'], ['c1']]);
  assert.deepEqual(groupBy([], String), []);
});
