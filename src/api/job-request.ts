/**
 * Turns a job request into the spec a worker runs, checking it with the engine's own rules
 * (prompt shape against the model, task, hyperparameters, the dataset's labels) so a bad job is
 * refused with 400 now rather than failing later in a worker.
 */
import { MAX_DISTINCT_VALUES, type DatasetSummary } from '../engine/datasets/dataset-summary.js';
import { EngineError } from '../engine/engine-error.js';
import { resolvePromptSpec, trainableParameterCount, type PromptSpec } from '../engine/prompts/prompt-spec.js';
import { catalogTaskSpec, TASK_CATALOG } from '../engine/tasks/task-catalog.js';
import { checkInputRoom } from '../engine/tasks/task-encoder.js';
import { validateTaskSpec, type TaskSpec } from '../engine/tasks/task-spec.js';
import { templateFields } from '../engine/tasks/template.js';
import { checkOptionsFitMethod, resolveTrainOptions, type TrainOptions } from '../engine/training/train-options.js';
import type { JobSpec } from '../queue/job-spec.js';
import type { ModelInfo } from './model-registry.js';
import type { JobRequest } from './schemas/jobs.js';

/** Defaults that train a useful prompt on a small model in minutes. */
const DEFAULT_TRAINING: TrainOptions = { batchSize: 16, learningRate: 0.03, evalEvery: 50 };
const DEFAULT_RANK = 4;

export function jobSpecOf(request: JobRequest, model: ModelInfo): JobSpec {
  const prompt: PromptSpec = {
    method: request.method,
    n: request.n ?? 20,
    ...(request.method === 'pt' ? {} : { r: request.r ?? DEFAULT_RANK }),
    ...(request.activation ? { activation: request.activation } : {}),
    ...(request.init ? { init: request.init } : {}),
    ...(request.initText ? { initText: request.initText } : {}),
    seed: request.seed ?? 0,
  };
  if (request.method === 'pt' && request.r !== undefined) throw new EngineError('BAD_ARGUMENT', 'r applies to lopt1 and lopt2 only');
  resolvePromptSpec(prompt, model.dims.hiddenSize);
  const requested = request.task;
  const task: TaskSpec = typeof requested === 'string' ? catalogTaskSpec(TASK_CATALOG[requested], model.promptStack) : requested;
  validateTaskSpec(task);
  const training = { ...DEFAULT_TRAINING, ...request.hyperparameters };
  resolveTrainOptions(training);
  checkOptionsFitMethod(prompt.method, training);
  if (prompt.n >= model.dims.maxPositions) {
    throw new EngineError('SEQUENCE_TOO_LONG', `n = ${prompt.n} prompt rows leave no room for input in ${model.id}'s ${model.dims.maxPositions} positions`);
  }
  checkInputRoom(task, { maxPositions: model.dims.maxPositions, promptRows: prompt.n });
  return { task, prompt, training, validationFraction: request.validationFraction ?? 0.1 };
}

/** The prompt's trainable values (nd, r(n+d) or 2rd) for a job's spec on its model. */
export function trainableParametersOf(spec: JobSpec, model: ModelInfo): number {
  return trainableParameterCount(resolvePromptSpec(spec.prompt, model.dims.hiddenSize), model.dims.hiddenSize);
}

/** Every row has the template's fields and, for classification, a label the task knows: read off the dataset's summary. */
export function checkDatasetFitsTask(summary: DatasetSummary, task: TaskSpec, source: string): void {
  const labelField = task.kind === 'classification' ? (task.labelField ?? 'label') : (task.targetField ?? 'target');
  // Every fault with the line it is first seen on: the earliest is reported, as a read of the rows would.
  const faults: Array<{ line: number; message: string }> = [];
  for (const field of [...templateFields(task.template), labelField]) {
    const seen = summary.fields[field];
    if (!seen || seen.present < summary.rows) faults.push({ line: seen?.firstMissingLine ?? summary.firstLine, message: `no field "${field}"` });
  }
  const labels = summary.fields[labelField];
  if (task.kind === 'classification' && labels && faults.length === 0) {
    if (!labels.values) throw new EngineError('DATASET_INVALID', `${source}: field "${labelField}" has more than ${MAX_DISTINCT_VALUES} distinct values, too many for labels`);
    // Own keys only: `in` would take "constructor" or "toString" for labels.
    for (const [label, line] of Object.entries(labels.values)) {
      if (!Object.hasOwn(task.labelWords, label)) faults.push({ line, message: `unknown label "${label}" (known: ${Object.keys(task.labelWords).join(', ')})` });
    }
  }
  const first = faults.sort((a, b) => a.line - b.line)[0];
  if (first) throw new EngineError('DATASET_INVALID', `${source} line ${first.line}: ${first.message}`);
}
