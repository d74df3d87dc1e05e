/** Results grouped by configuration (task, method, n, r) over seeds. */
import { METHOD_NAMES, type EvalTaskId, type Method } from './profiles.js';
import type { RunResult } from './run-jobs.js';
import type { TrainingSetting } from './run-plan.js';
import { groupBy, mean, pairedDifference, std, type PairedDifference } from './stats.js';

export interface ConfigSummary {
  readonly task: EvalTaskId;
  readonly method: Method;
  readonly n: number;
  readonly r: number | null;
  /** The learning rate (and σ) it trained with: its method's tuned setting. */
  readonly setting: TrainingSetting;
  readonly trainableParameters: number | null;
  readonly results: readonly RunResult[];
  /** In percent, over the succeeded runs; null if none succeeded. */
  readonly accuracy: { readonly mean: number; readonly std: number; readonly runs: number } | null;
  readonly macroF1: number | null;
  readonly wallSeconds: number | null;
}

const configKey = ({ task, method, n, r }: RunResult['run']) => `${task}/${method}/${n}/${r}`;

export function summarize(results: readonly RunResult[]): ConfigSummary[] {
  return groupBy(results, (result) => configKey(result.run)).map((group) => {
    const { task, method, n, r } = group[0]!.run;
    const succeeded = group.filter((result) => result.accuracy !== null);
    const accuracies = succeeded.map((result) => result.accuracy! * 100);
    const f1s = succeeded.flatMap((result) => (result.macroF1 === null ? [] : [result.macroF1 * 100]));
    const walls = group.flatMap((result) => (result.wallSeconds === null ? [] : [result.wallSeconds]));
    return {
      task,
      method,
      n,
      r,
      setting: { learningRate: group[0]!.run.learningRate, activation: group[0]!.run.activation },
      trainableParameters: group.find((result) => result.trainableParameters !== null)?.trainableParameters ?? null,
      results: group,
      accuracy: accuracies.length ? { mean: mean(accuracies), std: std(accuracies), runs: accuracies.length } : null,
      macroF1: f1s.length ? mean(f1s) : null,
      wallSeconds: walls.length ? mean(walls) : null,
    };
  });
}

/** "PT", "LoPT-1 r = 4". */
export const configName = ({ method, r }: Pick<ConfigSummary, 'method' | 'r'>) => (r === null ? METHOD_NAMES[method] : `${METHOD_NAMES[method]} r = ${r}`);

/** Accuracy per seed, percent, of the runs that succeeded. */
export const accuracyBySeed = (summary: ConfigSummary): Map<number, number> =>
  new Map(summary.results.flatMap((result) => (result.accuracy === null ? [] : [[result.run.seed, result.accuracy * 100] as const])));

/** `other` − `base` in accuracy points, seed by seed. */
export const pairedAgainst = (base: ConfigSummary, other: ConfigSummary): PairedDifference | null => pairedDifference(accuracyBySeed(base), accuracyBySeed(other));
