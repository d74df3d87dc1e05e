import assert from 'node:assert/strict';

/** Largest |a − b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'arrays differ in length');
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(max) ? Infinity : max;
}

/** max|a − b| / max|b|: the error relative to the reference's scale. */
export function maxRelDiff(actual: ArrayLike<number>, reference: ArrayLike<number>): number {
  const scale = Math.max(...Array.from(reference, Math.abs));
  return maxAbsDiff(actual, reference) / scale;
}
