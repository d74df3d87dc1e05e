import { EngineError } from '../engine/engine-error.js';
import { loadPrompt, readPromptFile, type PromptFileContents } from '../engine/prompt-file.js';
import type { SoftPrompt } from '../engine/prompts/soft-prompt.js';
import { TaskEncoder } from '../engine/tasks/task-encoder.js';
import { required, type Values } from './cli-options.js';
import { openModel, type OpenModel } from './open-model.js';

/** A trained prompt from `--prompt`, on the model of `--model`, with its task's encoder. */
export interface PromptSession extends OpenModel {
  readonly file: PromptFileContents;
  readonly prompt: SoftPrompt;
  readonly encoder: TaskEncoder;
}

export async function openPromptSession(values: Values): Promise<PromptSession> {
  const file = readPromptFile(required(values, 'prompt'));
  const opened = await openModel(values);
  if (opened.model.dims.hiddenSize !== file.model.hiddenSize) {
    throw new EngineError(
      'BAD_ARGUMENT',
      `the prompt was trained for ${file.model.id} (width ${file.model.hiddenSize}); ${opened.id} has width ${opened.model.dims.hiddenSize}`,
    );
  }
  const prompt = loadPrompt(file);
  const encoder = new TaskEncoder(file.task, opened.tokenizer, { maxPositions: opened.model.dims.maxPositions, promptRows: file.spec.n });
  return { ...opened, file, prompt, encoder };
}
