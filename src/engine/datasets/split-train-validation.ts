import { EngineError } from '../engine-error.js';
import { Rng } from '../random.js';

export interface SplitOptions {
  /** Share of rows held out for validation, in (0, 1). */
  validationFraction: number;
  /** Integer seed of the shuffle; the same seed gives the same split. */
  seed: number;
}

/** A seeded shuffle, then the first round(n·fraction) rows (at least 1, at most n − 1 when n ≥ 2) for validation. */
export function splitTrainValidation<T>(rows: readonly T[], { validationFraction, seed }: SplitOptions): { train: T[]; validation: T[] } {
  if (!(validationFraction > 0 && validationFraction < 1)) throw new EngineError('BAD_ARGUMENT', `validationFraction must be in (0, 1), got ${validationFraction}`);
  if (!Number.isSafeInteger(seed)) throw new EngineError('BAD_ARGUMENT', `seed must be an integer, got ${seed}`);
  const shuffled = new Rng(seed).shuffle(rows);
  const size = validationSize(rows.length, validationFraction);
  return { validation: shuffled.slice(0, size), train: shuffled.slice(size) };
}

/** Rows splitTrainValidation holds out of `count`: the fraction, at least 1 and leaving at least 1 (none of fewer than 2). */
export function validationSize(count: number, validationFraction: number): number {
  return count < 2 ? 0 : Math.min(count - 1, Math.max(1, Math.round(count * validationFraction)));
}
