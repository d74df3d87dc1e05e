/** What a job asks its worker to do: shared by the API (which writes it) and the workers (which run it). */
import type { PromptSpec } from '../engine/prompts/prompt-spec.js';
import type { TaskSpec } from '../engine/tasks/task-spec.js';
import type { TrainOptions } from '../engine/training/train-options.js';

/** What a tuning job was asked to do, as the API accepted it and the worker runs it. */
export interface JobSpec {
  readonly task: TaskSpec;
  readonly prompt: PromptSpec;
  readonly training: TrainOptions;
  /** Held out of the training dataset when no validation dataset is given. */
  readonly validationFraction: number;
}

/** What an evaluation job was asked to do: score its prompt (the job's promptId) on the first `limit` rows of its dataset (all when null). */
export interface EvaluationSpec {
  readonly kind: 'evaluate';
  readonly limit: number | null;
  /** Examples per forward pass, sized at submit to the deployment's batch limit. */
  readonly batchSize: number;
}
