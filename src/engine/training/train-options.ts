import { EngineError } from '../engine-error.js';
import type { PromptMethod } from '../prompts/prompt-spec.js';
import { LR_SCHEDULES, type LrSchedule } from './lr-schedule.js';

/** A wider ratio than this is a mistake in the request, not a tuning choice. */
export const MAX_V_LEARNING_RATE_RATIO = 1000;

export interface TrainOptions {
  /** @defaultValue `8` */
  readonly batchSize?: number;
  /** Passes over the training set; ignored when maxSteps ends the run first. @defaultValue `1`, or with maxSteps alone as many as it takes */
  readonly epochs?: number;
  /** Stops after this many steps (across epochs), whichever of the two comes first. */
  readonly maxSteps?: number;
  /** Peak learning rate. @defaultValue `0.03` */
  readonly learningRate?: number;
  /**
   * V's learning rate as a multiple of `learningRate`, which U keeps (lopt1 and lopt2 only). Adam
   * steps every entry by about the learning rate whatever its gradient's scale, so how far a step
   * moves X = U·V depends on the other factor's size; this balances the two. @defaultValue `1`
   */
  readonly vLearningRateRatio?: number;
  /** Warm-up as a share of all steps. @defaultValue `0.06` */
  readonly warmupRatio?: number;
  /** @defaultValue `linear` */
  readonly schedule?: LrSchedule;
  /** AdamW's decoupled weight decay; 0 is Adam. @defaultValue `0` */
  readonly weightDecay?: number;
  /** Largest global gradient norm; larger gradients are scaled down. 0 turns clipping off. @defaultValue `1` */
  readonly clipNorm?: number;
  /** Sort inputs into batches of similar length to cut padding. @defaultValue `true` */
  readonly bucketByLength?: boolean;
  /** @defaultValue `0` */
  readonly seed?: number;
  /** Evaluate on the validation set every this many steps (and at the end). 0: at the end only. @defaultValue `0` */
  readonly evalEvery?: number;
  /** @defaultValue `32` */
  readonly evalBatchSize?: number;
  /** Stop after this many evaluations without improvement. 0: never. @defaultValue `0` */
  readonly earlyStoppingPatience?: number;
  /** End with the prompt of the best evaluation rather than the last step. @defaultValue `true` */
  readonly keepBest?: boolean;
  /** Call onCheckpoint every this many steps. 0: never. @defaultValue `0` */
  readonly checkpointEvery?: number;
}

export type ResolvedTrainOptions = Required<Omit<TrainOptions, 'maxSteps'>> & { readonly maxSteps: number | undefined };

export function resolveTrainOptions(options: TrainOptions): ResolvedTrainOptions {
  const resolved: ResolvedTrainOptions = {
    batchSize: options.batchSize ?? 8,
    epochs: options.epochs ?? 1,
    maxSteps: options.maxSteps,
    learningRate: options.learningRate ?? 0.03,
    vLearningRateRatio: options.vLearningRateRatio ?? 1,
    warmupRatio: options.warmupRatio ?? 0.06,
    schedule: options.schedule ?? 'linear',
    weightDecay: options.weightDecay ?? 0,
    clipNorm: options.clipNorm ?? 1,
    bucketByLength: options.bucketByLength ?? true,
    seed: options.seed ?? 0,
    evalEvery: options.evalEvery ?? 0,
    evalBatchSize: options.evalBatchSize ?? 32,
    earlyStoppingPatience: options.earlyStoppingPatience ?? 0,
    keepBest: options.keepBest ?? true,
    checkpointEvery: options.checkpointEvery ?? 0,
  };
  const fail = (message: string) => new EngineError('BAD_ARGUMENT', message);
  const positiveInts = ['batchSize', 'epochs', 'evalBatchSize'] as const;
  for (const key of positiveInts) if (!Number.isInteger(resolved[key]) || resolved[key] < 1) throw fail(`${key} must be an integer ≥ 1, got ${resolved[key]}`);
  const counts = ['evalEvery', 'earlyStoppingPatience', 'checkpointEvery', 'seed'] as const;
  for (const key of counts) if (!Number.isInteger(resolved[key]) || resolved[key] < 0) throw fail(`${key} must be an integer ≥ 0, got ${resolved[key]}`);
  if (resolved.maxSteps !== undefined && (!Number.isInteger(resolved.maxSteps) || resolved.maxSteps < 1)) throw fail(`maxSteps must be an integer ≥ 1, got ${resolved.maxSteps}`);
  if (!(resolved.learningRate > 0) || !Number.isFinite(resolved.learningRate)) throw fail(`learningRate must be a positive number, got ${resolved.learningRate}`);
  if (!(resolved.vLearningRateRatio > 0 && resolved.vLearningRateRatio <= MAX_V_LEARNING_RATE_RATIO)) {
    throw fail(`vLearningRateRatio must be in (0, ${MAX_V_LEARNING_RATE_RATIO}], got ${resolved.vLearningRateRatio}`);
  }
  if (!(resolved.warmupRatio >= 0 && resolved.warmupRatio < 1)) throw fail(`warmupRatio must be in [0, 1), got ${resolved.warmupRatio}`);
  if (!(resolved.weightDecay >= 0) || !(resolved.clipNorm >= 0)) throw fail('weightDecay and clipNorm must be ≥ 0');
  if (!LR_SCHEDULES.includes(resolved.schedule)) throw fail(`schedule must be one of ${LR_SCHEDULES.join(', ')}, got ${JSON.stringify(resolved.schedule)}`);
  return resolved;
}

/** Options that only some prompt methods have: a V factor's learning rate needs a V (lopt1, lopt2). */
export function checkOptionsFitMethod(method: PromptMethod, options: TrainOptions): void {
  if (method === 'pt' && options.vLearningRateRatio !== undefined) throw new EngineError('BAD_ARGUMENT', 'vLearningRateRatio applies to lopt1 and lopt2 only');
}
