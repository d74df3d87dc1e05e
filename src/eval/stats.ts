/** Small statistics for the report: seed means and spreads, and smoothing of loss curves. */

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new Error('the mean of no values');
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Sample standard deviation (n − 1); 0 for a single value. */
export function std(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((sum, value) => sum + (value - m) ** 2, 0) / (values.length - 1));
}

/** Each point replaced by the mean of the `window` points ending at it (fewer at the start). */
export function trailingMean(values: readonly number[], window: number): number[] {
  if (!Number.isInteger(window) || window < 1) throw new Error(`window must be an integer ≥ 1, got ${window}`);
  let sum = 0;
  return values.map((value, i) => {
    sum += value - (i >= window ? values[i - window]! : 0);
    return sum / Math.min(i + 1, window);
  });
}

/** Per step, the mean over the curves that have that step. */
export function meanCurve(curves: ReadonlyArray<ReadonlyArray<{ step: number; loss: number }>>): Array<{ step: number; loss: number }> {
  const byStep = new Map<number, number[]>();
  for (const curve of curves) for (const { step, loss } of curve) byStep.set(step, [...(byStep.get(step) ?? []), loss]);
  return [...byStep].sort(([a], [b]) => a - b).map(([step, losses]) => ({ step, loss: mean(losses) }));
}
