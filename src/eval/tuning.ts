/**
 * Picks each method's training setting on a dataset from its tuning runs: the best validation
 * accuracy, ties to the lower validation loss. The tuning runs are scored on validation rows
 * carved from the training file, so the choice never sees the evaluation rows.
 */
import type { EvalTaskId, Method } from './profiles.js';
import type { RunResult } from './run-jobs.js';
import { settingKey, type ChosenSettings, type TrainingSetting } from './run-plan.js';
import { groupBy } from './stats.js';

/** One point of a method's grid: its setting and what its run scored on the validation rows (percent; null if it failed). */
export interface TuningPoint extends TrainingSetting {
  readonly accuracy: number | null;
  readonly loss: number | null;
}

export interface MethodTuning {
  readonly task: EvalTaskId;
  readonly method: Method;
  readonly points: readonly TuningPoint[];
  /** Null when every run of the grid failed. */
  readonly chosen: TuningPoint | null;
}

const better = (a: TuningPoint, b: TuningPoint) => a.accuracy! > b.accuracy! || (a.accuracy === b.accuracy && (a.loss ?? Infinity) < (b.loss ?? Infinity));

/**
 * Where the chosen learning rate sits at an end of the rates the method was tried at: a rate past
 * that end might score better, so the grid may have cut the method short. Null inside the grid, or
 * when nothing was chosen.
 */
export function gridEdge(tuning: MethodTuning): 'lowest' | 'highest' | null {
  if (!tuning.chosen) return null;
  const rates = tuning.points.map((point) => point.learningRate);
  if (tuning.chosen.learningRate === Math.min(...rates)) return 'lowest';
  return tuning.chosen.learningRate === Math.max(...rates) ? 'highest' : null;
}

export function chooseSettings(tuningResults: readonly RunResult[]): { tunings: MethodTuning[]; chosen: ChosenSettings } {
  const tunings = groupBy(tuningResults, ({ run }) => settingKey(run.task, run.method)).map((group): MethodTuning => {
    const points = group.map(({ run, accuracy, evalLoss }) => ({
      learningRate: run.learningRate, activation: run.activation, accuracy: accuracy === null ? null : accuracy * 100, loss: evalLoss,
    }));
    const chosen = points.filter((point) => point.accuracy !== null).reduce<TuningPoint | null>((best, point) => (best === null || better(point, best) ? point : best), null);
    return { task: group[0]!.run.task, method: group[0]!.run.method, points, chosen };
  });
  const chosen = new Map(
    tunings.flatMap(({ task, method, chosen: point }) => (point ? [[settingKey(task, method), { learningRate: point.learningRate, activation: point.activation }] as const] : [])),
  );
  return { tunings, chosen };
}
