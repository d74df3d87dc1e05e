/**
 * What a profile at a larger model's scale needs before it starts: enough memory and cores, and
 * an estimate of its time from the steps it will run, so that it is refused on a machine too
 * small for it instead of running for days.
 */
import type { Machine } from './machine-info.js';
import { COMPARISON, type Profile, type Requirements } from './profiles.js';
import { planFinalRuns, planTuningRuns, settingKey } from './run-plan.js';

/** Training steps of the whole profile: its tuning runs and its final runs (every method tuned). */
export function profileSteps(profile: Profile): number {
  const everyMethod = new Map(profile.datasets.flatMap(({ task }) => profile.methods.map((method) => [settingKey(task, method), { learningRate: 0, activation: null }] as const)));
  return [...planTuningRuns(profile), ...planFinalRuns(profile, everyMethod)].reduce((sum, run) => sum + run.budget.steps, 0);
}

/** Seconds, if the service's workers together train at `cores` ÷ 2 times the rate measured on 2 cores (stepSeconds): an optimistic estimate. */
export function estimateSeconds(steps: number, requirements: Requirements, cores: number): number {
  return (steps * requirements.stepSeconds * 2) / cores;
}

/** Why this machine cannot run the profile; empty when it can. */
export function unmetRequirements(requirements: Requirements, machine: Pick<Machine, 'cores' | 'memoryGiB'>): string[] {
  const unmet: string[] = [];
  if (machine.memoryGiB < requirements.minMemoryGiB) unmet.push(`${requirements.minMemoryGiB} GiB of memory (this machine has ${machine.memoryGiB})`);
  if (machine.cores < requirements.minCores) unmet.push(`${requirements.minCores} cores (this machine has ${machine.cores})`);
  return unmet;
}

/** The lines the command prints before a profile with requirements starts (or is refused). */
export function describeRequirements(profile: Profile, requirements: Requirements, machine: Pick<Machine, 'cores' | 'memoryGiB'>): string[] {
  const steps = profileSteps(profile);
  const hours = estimateSeconds(steps, requirements, Math.max(machine.cores, 1)) / 3600;
  return [
    `profile ${profile.name} needs: a served model "${requirements.model}" (LOPT_MODELS), ${requirements.minMemoryGiB} GiB of memory, ${requirements.minCores} cores`,
    `it runs ${steps.toLocaleString('en-US')} training steps (n = ${COMPARISON.n} and the ablation's n up to ${Math.max(...(profile.ablation?.ns ?? [COMPARISON.n]))}); at ${requirements.stepSeconds} s a step on 2 cores (${requirements.stepSecondsSource}), about ${hours.toFixed(1)} hours on this machine's ${machine.cores} cores`,
  ];
}
