/**
 * The runs a profile asks for, in two phases. Tuning: every method (LoPT at the comparison's rank)
 * at every learning rate of the grid (LoPT-2 also at every σ), one seed, scored on validation
 * rows carved from the training file. Final: the comparison (PT, and each LoPT variant at every
 * rank) on every seed with the settings tuning chose, then the ablation grid, each scored once on
 * the evaluation rows. No choice looks at the evaluation rows.
 */
import type { Activation } from '../engine/prompts/prompt-spec.js';
import { COMPARISON, type Budget, type EvalTaskId, type Method, type Profile } from './profiles.js';

export type Phase = 'tune' | 'final';

/** How a method is trained: its learning rate and, for LoPT-2, σ. */
export interface TrainingSetting {
  readonly learningRate: number;
  /** LoPT-2 only. */
  readonly activation: Activation | null;
}

export interface RunSpec extends TrainingSetting {
  /** Unique within a plan, e.g. `final/ag_news/lopt2/n20/r4/tanh/lr0.03/s1`. */
  readonly key: string;
  readonly phase: Phase;
  readonly task: EvalTaskId;
  readonly method: Method;
  readonly n: number;
  /** Null for pt. */
  readonly r: number | null;
  readonly seed: number;
  readonly budget: Budget;
}

function runSpec(phase: Phase, task: EvalTaskId, method: Method, n: number, r: number, seed: number, budget: Budget, setting: TrainingSetting): RunSpec {
  const rank = method === 'pt' ? null : r;
  const activation = method === 'lopt2' ? setting.activation : null;
  const key = [phase, task, method, `n${n}`, `r${rank ?? '-'}`, ...(activation ? [activation] : []), `lr${setting.learningRate}`, `s${seed}`].join('/');
  return { key, phase, task, method, n, r: rank, seed, budget, learningRate: setting.learningRate, activation };
}

/** A LoPT-1 rank above n is no low-rank factorisation (the engine refuses it). */
export const isValidGridCell = (method: Method, n: number, r: number) => method !== 'lopt1' || r <= n;

/** Each method at each point of the grid, at the comparison's n and r, on the tuning seed. */
export function planTuningRuns(profile: Profile): RunSpec[] {
  const { learningRates, activations, seed } = profile.tuning;
  return profile.datasets.flatMap(({ task, budget }) =>
    profile.methods.flatMap((method) =>
      learningRates.flatMap((learningRate) =>
        (method === 'lopt2' ? activations : [null]).map((activation) =>
          runSpec('tune', task, method, COMPARISON.n, COMPARISON.r, seed, budget, { learningRate, activation }),
        ),
      ),
    ),
  );
}

/** The setting a method was tuned to on a dataset: `settingKey(task, method)`. */
export const settingKey = (task: EvalTaskId, method: Method) => `${task}/${method}`;
export type ChosenSettings = ReadonlyMap<string, TrainingSetting>;

/**
 * The comparison and the ablation with the chosen settings, seed-major so that results of every
 * method arrive together; an ablation cell the comparison already runs (n = 20) runs once.
 * Methods without a chosen setting (all their tuning runs failed) are left out.
 */
export function planFinalRuns(profile: Profile, chosen: ChosenSettings): RunSpec[] {
  const runs = new Map<string, RunSpec>();
  const add = (task: EvalTaskId, method: Method, n: number, r: number, seed: number, budget: Budget) => {
    const setting = chosen.get(settingKey(task, method));
    if (!setting) return;
    const run = runSpec('final', task, method, n, r, seed, budget, setting);
    if (!runs.has(run.key)) runs.set(run.key, run);
  };
  for (const seed of profile.seeds) {
    for (const { task, budget } of profile.datasets) {
      for (const method of profile.methods) {
        for (const r of method === 'pt' ? [COMPARISON.r] : profile.ranks) add(task, method, COMPARISON.n, r, seed, budget);
      }
    }
  }
  const ablation = profile.ablation;
  if (ablation) {
    const { budget } = datasetPlan(profile, ablation.task);
    for (const seed of ablation.seeds) {
      for (const n of ablation.ns) {
        for (const r of ablation.rs) if (isValidGridCell(ablation.method, n, r)) add(ablation.task, ablation.method, n, r, seed, budget);
      }
    }
  }
  return [...runs.values()];
}

export function datasetPlan(profile: Profile, task: EvalTaskId) {
  const plan = profile.datasets.find((dataset) => dataset.task === task);
  if (!plan) throw new Error(`profile ${profile.name} has no data plan for ${task}`);
  return plan;
}
