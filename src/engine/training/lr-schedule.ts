export const LR_SCHEDULES = ['linear', 'cosine', 'constant'] as const;
export type LrSchedule = (typeof LR_SCHEDULES)[number];

/**
 * Learning rate at a 0-based step: linear warm-up from 0 over `warmupSteps`, then linear or
 * cosine decay to 0 at `totalSteps`, or constant.
 */
export function learningRateAt(step: number, peak: number, warmupSteps: number, totalSteps: number, schedule: LrSchedule): number {
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  if (schedule === 'constant') return peak;
  const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
  return schedule === 'linear' ? peak * (1 - progress) : peak * 0.5 * (1 + Math.cos(Math.PI * progress));
}
