import type { DatasetRow } from '../datasets/dataset-row.js';
import type { FrozenModel } from '../models/frozen-model.js';
import { resolvePromptSpec, type PromptSpec } from '../prompts/prompt-spec.js';
import { SoftPrompt } from '../prompts/soft-prompt.js';
import { objectiveFor, type TrainingObjective } from '../tasks/objective.js';
import { TaskEncoder, type EncodedExample } from '../tasks/task-encoder.js';
import type { TaskSpec } from '../tasks/task-spec.js';
import type { TextTokenizer } from '../tokenizer.js';

export interface PreparedRun {
  /** A new prompt initialised per the spec; the caller disposes it. */
  readonly prompt: SoftPrompt;
  readonly objective: TrainingObjective;
  readonly train: EncodedExample[];
  readonly validation: EncodedExample[];
}

/** Everything `trainPrompt` needs for a task on a model, from dataset rows and a prompt spec. */
export async function prepareTrainingRun(input: {
  model: FrozenModel;
  tokenizer: TextTokenizer;
  task: TaskSpec;
  prompt: PromptSpec;
  train: readonly DatasetRow[];
  validation: readonly DatasetRow[];
}): Promise<PreparedRun> {
  const { model, tokenizer } = input;
  const spec = resolvePromptSpec(input.prompt, model.dims.hiddenSize);
  const encoder = new TaskEncoder(input.task, tokenizer, { maxPositions: model.dims.maxPositions, promptRows: spec.n });
  const train = encoder.encodeAll(input.train);
  const validation = input.validation.length ? encoder.encodeAll(input.validation) : [];
  const prompt = await SoftPrompt.initialise(spec, model, (text) => tokenizer.encode(text));
  return { prompt, objective: objectiveFor(encoder, model), train, validation };
}
