/**
 * A deployment's bounds on the work of one job, checked at submit so that a job that passes can
 * run on its workers: training steps, epochs, rows, the token positions of one batch (what a
 * step's memory grows with) and the validation rows of all its evaluations. The API has no
 * tokenizer, so sequences are bounded from the rows' bytes (engine's sequenceBound), a job's from
 * its datasets' summaries (summarySequenceBound).
 */
import type { DatasetRow } from '../engine/datasets/dataset-row.js';
import type { DatasetSummary } from '../engine/datasets/dataset-summary.js';
import { validationSize } from '../engine/datasets/split-train-validation.js';
import { sequenceBound, summarySequenceBound, type SequenceBound } from '../engine/tasks/task-encoder.js';
import { resolveTrainOptions } from '../engine/training/train-options.js';
import { evaluationCount, totalTrainingSteps } from '../engine/training/trainer.js';
import type { TaskSpec } from '../engine/tasks/task-spec.js';
import type { JobSpec } from '../queue/job-spec.js';
import { ApiError } from './api-error.js';
import type { ModelInfo } from './model-registry.js';

export interface JobLimits {
  /** Training steps: epochs × batches per epoch, or maxSteps if that ends the run first. */
  readonly maxSteps: number;
  /** The epochs a job may ask for. */
  readonly maxEpochs: number;
  /** Token positions of one batch, training or evaluation: examples × sequences per example × the longest sequence. */
  readonly maxBatchTokens: number;
  /** Rows trained on (those of the dataset less the held-out validation share). */
  readonly maxTrainRows: number;
  /** Validation rows × evaluations (every evalEvery steps and at the end). */
  readonly maxEvaluationRows: number;
}

/** The environment variable of each limit: src/config.ts reads them, refusals name them. */
export const JOB_LIMIT_SETTINGS: { readonly [K in keyof JobLimits]: string } = {
  maxSteps: 'LOPT_MAX_JOB_STEPS',
  maxEpochs: 'LOPT_MAX_JOB_EPOCHS',
  maxBatchTokens: 'LOPT_MAX_BATCH_TOKENS',
  maxTrainRows: 'LOPT_MAX_TRAIN_ROWS',
  maxEvaluationRows: 'LOPT_MAX_EVAL_ROWS_TOTAL',
};

/**
 * What the default machine (2 cores, gpt2-mini on WebAssembly, 4 GiB heap at most) runs: a step
 * of 8192 positions takes about 1.5 GiB of heap and seconds; 16384 took 3.8 GiB, 22528 did not
 * fit. Evaluation reads ~50–200 rows a second.
 */
export const DEFAULT_JOB_LIMITS: JobLimits = {
  maxSteps: 10_000,
  maxEpochs: 100,
  maxBatchTokens: 8192,
  maxTrainRows: 100_000,
  maxEvaluationRows: 200_000,
};

/** The job's datasets, as their summaries (computed at upload: a submit reads no rows). */
export interface JobData {
  readonly train: DatasetSummary;
  /** The validation dataset's; null to hold out the spec's validationFraction of `train`, as the worker does. */
  readonly validation: DatasetSummary | null;
}

function refuse(limit: keyof JobLimits, limits: JobLimits, value: number, what: string, remedy: string): never {
  const setting = JOB_LIMIT_SETTINGS[limit];
  throw new ApiError(
    400,
    'JOB_TOO_LARGE',
    `${what} = ${value}, over this deployment's limit of ${limits[limit]} (${setting}): ${remedy}`,
    { limit, setting, value, max: limits[limit] },
  );
}

/**
 * Sizes a job's work and refuses it (400 JOB_TOO_LARGE, naming the limit and its setting) past a
 * limit. Returns the spec to run: evaluation batches are made smaller where the engine's default
 * size would exceed maxBatchTokens (evaluation results do not depend on it).
 */
export function fitJobToLimits(spec: JobSpec, model: ModelInfo, data: JobData, limits: JobLimits): JobSpec {
  // Row counts as the worker's split makes them; each part's sequences bounded by its whole dataset's.
  const heldOut = data.validation ? 0 : validationSize(data.train.rows, spec.validationFraction);
  const train = { length: data.train.rows - heldOut, summary: data.train };
  const validation = data.validation ? { length: data.validation.rows, summary: data.validation } : { length: heldOut, summary: data.train };
  const options = resolveTrainOptions(spec.training);
  const check = (limit: keyof JobLimits, value: number, what: string, remedy: string) => {
    if (value > limits[limit]) refuse(limit, limits, value, what, remedy);
  };

  check('maxTrainRows', train.length, 'training rows', 'train on fewer rows');
  if (spec.training.epochs !== undefined) check('maxEpochs', spec.training.epochs, 'epochs', 'ask for fewer epochs');
  const steps = totalTrainingSteps(train.length, spec.training);
  check('maxSteps', steps, 'training steps', 'lower maxSteps or epochs, or train on fewer rows');

  const bounds = { maxPositions: model.dims.maxPositions, promptRows: spec.prompt.n };
  const perTrainingExample = positionsPerExample(summarySequenceBound(spec.task, train.summary, bounds));
  const trainingBatch = Math.min(options.batchSize, train.length);
  check(
    'maxBatchTokens',
    trainingBatch * perTrainingExample.positions,
    `token positions of a training batch (${trainingBatch} examples × ${perTrainingExample.description})`,
    'lower batchSize or n, or shorten the inputs',
  );
  if (validation.length === 0) return spec;

  const evaluations = evaluationCount(steps, spec.training);
  check('maxEvaluationRows', validation.length * evaluations, `validation rows × evaluations (${validation.length} × ${evaluations})`, 'evaluate less often (evalEvery) or on fewer rows');
  const perValidationExample = positionsPerExample(summarySequenceBound(spec.task, validation.summary, bounds));
  const fitting = Math.floor(limits.maxBatchTokens / perValidationExample.positions);
  if (fitting < 1) {
    refuse('maxBatchTokens', limits, perValidationExample.positions, `token positions of one validation example (${perValidationExample.description})`, 'lower n, or shorten the inputs');
  }
  return fitting >= Math.min(options.evalBatchSize, validation.length) ? spec : { ...spec, training: { ...spec.training, evalBatchSize: fitting } };
}

/** Examples an evaluation runs at once where its rows allow. */
const EVALUATION_BATCH = 16;

/**
 * Refuses an evaluation of `rows` with a prompt of `promptRows` rows past the limits (its rows,
 * one example's positions); returns the batch size that keeps a batch within maxBatchTokens.
 */
export function fitEvaluationToLimits(task: TaskSpec, promptRows: number, rows: readonly DatasetRow[], model: ModelInfo, limits: JobLimits): number {
  if (rows.length > limits.maxEvaluationRows) refuse('maxEvaluationRows', limits, rows.length, 'rows to evaluate', 'give a smaller limit, or a smaller dataset');
  const perExample = positionsPerExample(sequenceBound(task, rows, { maxPositions: model.dims.maxPositions, promptRows }));
  const fitting = Math.floor(limits.maxBatchTokens / perExample.positions);
  if (fitting < 1) refuse('maxBatchTokens', limits, perExample.positions, `token positions of one example (${perExample.description})`, 'shorten the inputs');
  return Math.min(EVALUATION_BATCH, fitting);
}

/** An example's positions, all its sequences together, and how they add up, for messages. */
function positionsPerExample({ positions, sequencesPerExample }: SequenceBound) {
  const sequences = sequencesPerExample === 1 ? '' : `${sequencesPerExample} sequences (one per label: a label word may take several tokens) × `;
  return { positions: sequencesPerExample * positions, description: `${sequences}up to ${positions} positions, prompt rows included` };
}
