/** Small statistics for the report: seed means and spreads, and smoothing of loss curves. */

/** Items grouped by `key`, groups in the order their first item came, items in theirs. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return [...groups.values()];
}

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

/** How much a loss curve still moves at its end, and how much of that its noise could explain. */
export interface TailChange {
  /** The mean loss over the last tenth of the steps relative to the tenth before (−0.03: 3 % lower). */
  readonly change: number;
  /**
   * The 95 % half-width of `change` from the step-to-step spread of the two tenths (the batches'
   * noise, treated as independent between steps): a change inside it is not told apart from flat.
   */
  readonly halfWidth95: number;
}

/** Null for a curve of under 20 points. */
export function lastTenthChange(curve: ReadonlyArray<{ step: number; loss: number }>): TailChange | null {
  const tenth = Math.floor(curve.length / 10);
  if (tenth < 2) return null;
  const before = curve.slice(-2 * tenth, -tenth).map(({ loss }) => loss);
  const last = curve.slice(-tenth).map(({ loss }) => loss);
  const standardError = Math.sqrt((std(before) ** 2 + std(last) ** 2) / tenth);
  return { change: (mean(last) - mean(before)) / mean(before), halfWidth95: (1.96 * standardError) / mean(before) };
}

/** A loss whose last tenth of steps moves by at most this share against the tenth before has flattened. */
export const FLAT_CHANGE = 0.02;

/** Flat: moves by at most FLAT_CHANGE; within noise: more, but inside its 95 % noise interval; moving: beyond both. */
export type TailState = 'flat' | 'within noise' | 'moving';

export function tailState({ change, halfWidth95 }: TailChange): TailState {
  if (Math.abs(change) <= FLAT_CHANGE) return 'flat';
  return Math.abs(change) <= halfWidth95 ? 'within noise' : 'moving';
}

/** Two-sided 95 % quantiles of Student's t for 1 … 10 degrees of freedom; beyond, the normal's 1.96 is within 0.3. */
const T_975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

/** Differences b − a over the keys (seeds) both have: their mean, spread and the 95 % confidence half-width of the mean (Student's t). */
export interface PairedDifference {
  readonly pairs: number;
  readonly mean: number;
  readonly std: number;
  /** Null for a single pair: one difference says nothing of its spread. */
  readonly halfWidth95: number | null;
}

export function pairedDifference(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): PairedDifference | null {
  const differences = [...b].flatMap(([key, value]) => (a.has(key) ? [value - a.get(key)!] : []));
  if (differences.length === 0) return null;
  const spread = std(differences);
  const df = differences.length - 1;
  const halfWidth95 = df === 0 ? null : ((T_975[df - 1] ?? 1.96) * spread) / Math.sqrt(differences.length);
  return { pairs: differences.length, mean: mean(differences), std: spread, halfWidth95 };
}
