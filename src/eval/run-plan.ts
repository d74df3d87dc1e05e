/** The runs a profile asks for: the method comparison on every dataset, then the ablation grid. */
import { COMPARISON, type Budget, type EvalTaskId, type Method, type Profile } from './profiles.js';

export interface RunSpec {
  /** Unique within a plan, e.g. `sst2/lopt1/n20/r4/s0`. */
  readonly key: string;
  readonly task: EvalTaskId;
  readonly method: Method;
  readonly n: number;
  /** Null for pt. */
  readonly r: number | null;
  readonly seed: number;
  readonly budget: Budget;
}

function runSpec(task: EvalTaskId, method: Method, n: number, r: number, seed: number, budget: Budget): RunSpec {
  const rank = method === 'pt' ? null : r;
  return { key: `${task}/${method}/n${n}/r${rank ?? '-'}/s${seed}`, task, method, n, r: rank, seed, budget };
}

/** A LoPT-1 rank above n is no low-rank factorisation (the engine refuses it). */
export const isValidGridCell = (method: Method, n: number, r: number) => method !== 'lopt1' || r <= n;

/** Seed-major, so that results of every method arrive together; a run the ablation shares with the comparison runs once. */
export function planRuns(profile: Profile): RunSpec[] {
  const runs = new Map<string, RunSpec>();
  const add = (run: RunSpec) => runs.has(run.key) || runs.set(run.key, run);
  for (const seed of profile.seeds) {
    for (const { task, budget } of profile.datasets) {
      for (const method of profile.methods) add(runSpec(task, method, COMPARISON.n, COMPARISON.r, seed, budget));
    }
  }
  const ablation = profile.ablation;
  if (ablation) {
    const { budget } = datasetPlan(profile, ablation.task);
    for (const seed of profile.seeds) {
      for (const n of ablation.ns) {
        for (const r of ablation.rs) if (isValidGridCell(ablation.method, n, r)) add(runSpec(ablation.task, ablation.method, n, r, seed, budget));
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
