/**
 * A trained prompt on disk: safetensors with the parameters (X for pt; U, V for lopt1; U, V and
 * the fixed X0 for lopt2), the materialised X, and string metadata: the prompt spec, the model
 * it was trained for, the task (template and label words) and its metrics.
 */
import { EngineError } from './engine-error.js';
import type { PromptStack } from './models/frozen-model.js';
import { checkStoredTensors, resolvePromptSpec, trainableParameterCount, type ResolvedPromptSpec } from './prompts/prompt-spec.js';
import { SoftPrompt } from './prompts/soft-prompt.js';
import { encodeSafetensors, readSafetensors, type HostTensor } from './safetensors.js';
import type { TaskSpec } from './tasks/task-spec.js';
import { writeFile } from 'node:fs/promises';

const FORMAT = 'lopt-prompt/1';

export interface PromptFileInfo {
  /**
   * The frozen model's identifier (e.g. its folder name), family, width, and the stack the prompt
   * goes in front of (an encoder-decoder's encoder; files written before encoder-decoders say
   * nothing, and are a decoder's).
   */
  readonly model: { readonly id: string; readonly type: string; readonly hiddenSize: number; readonly stack: PromptStack };
  readonly task: TaskSpec;
  readonly metrics: Readonly<Record<string, number>>;
}

/** What a prompt file holds, however the prompt was obtained (trained now, or read from a store). */
export interface PromptFileContents extends PromptFileInfo {
  readonly spec: ResolvedPromptSpec;
  readonly trainableParameters: number;
  /** The parameters by name, and X, the materialised prompt. */
  readonly tensors: ReadonlyMap<string, HostTensor>;
}

export function encodePromptFile(contents: PromptFileContents): Buffer {
  const { method, n, r, activation, init, seed } = contents.spec;
  return encodeSafetensors(contents.tensors, {
    format: FORMAT,
    spec: JSON.stringify({ method, n, ...(r ? { r } : {}), ...(method === 'lopt2' ? { activation } : {}), init, seed }),
    trainable_parameters: String(contents.trainableParameters),
    model: JSON.stringify(contents.model),
    task: JSON.stringify(contents.task),
    metrics: JSON.stringify(contents.metrics),
  });
}

/** A prompt's parameters and its materialised X, by name. */
export async function promptTensors(prompt: SoftPrompt): Promise<Map<string, HostTensor>> {
  const tensors = await prompt.parameterValues();
  const X = prompt.materialize();
  try {
    tensors.set('X', { shape: X.shape, data: (await X.data()) as Float32Array });
  } finally {
    X.dispose();
  }
  return tensors;
}

export async function savePromptFile(path: string, prompt: SoftPrompt, info: PromptFileInfo): Promise<void> {
  const contents = { ...info, spec: prompt.spec, trainableParameters: prompt.trainableParameters, tensors: await promptTensors(prompt) };
  await writeFile(path, encodePromptFile(contents));
}

/** A prompt file from its path, or from its bytes (`name` stands for it in errors); checked whole. */
export function readPromptFile(source: string | { bytes: Uint8Array; name: string }): PromptFileContents {
  const path = typeof source === 'string' ? source : source.name;
  const invalid = (what: string) => new EngineError('PROMPT_FILE_INVALID', `${path}: ${what}`);
  let read: ReturnType<typeof readSafetensors>;
  try {
    read = readSafetensors(source);
  } catch (err) {
    if (err instanceof EngineError && err.code === 'SAFETENSORS_INVALID') throw invalid(err.message);
    throw err;
  }
  const { tensors, metadata } = read;
  if (metadata.format !== FORMAT) throw invalid(`not a prompt file (format ${JSON.stringify(metadata.format)}, expected "${FORMAT}")`);
  const parse = <T>(key: string): T => {
    try {
      return JSON.parse(metadata[key] ?? '') as T;
    } catch {
      throw invalid(`metadata "${key}" is missing or not JSON`);
    }
  };
  const model = { stack: 'decoder' as const, ...parse<Omit<PromptFileInfo['model'], 'stack'> & { stack?: PromptStack }>('model') };
  let spec: ResolvedPromptSpec;
  try {
    spec = resolvePromptSpec(parse('spec'), model.hiddenSize);
    checkStoredTensors(spec, model.hiddenSize, tensors, { materialised: true });
  } catch (err) {
    if (err instanceof EngineError) throw invalid(err.message);
    throw err;
  }
  return { spec, model, task: parse('task'), metrics: parse('metrics'), trainableParameters: trainableParameterCount(spec, model.hiddenSize), tensors };
}

/** The prompt of a file, ready to use on a model of the file's width. */
export function loadPrompt(contents: PromptFileContents): SoftPrompt {
  return SoftPrompt.fromHostTensors(contents.spec, contents.model.hiddenSize, contents.tensors);
}
