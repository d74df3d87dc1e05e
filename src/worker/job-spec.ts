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
