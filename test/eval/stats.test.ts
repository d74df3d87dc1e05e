import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mean, meanCurve, std, trailingMean } from '../../src/eval/stats.js';

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
