/**
 * Brings a prompt trained elsewhere into the store: a PEFT prompt-tuning adapter (as a tar, the
 * shape `GET /v1/prompts/{id}/weights?format=peft` gives) or a prompt file (`lopt train`'s, or a
 * download). Each is checked against the model it is to serve (width, prompt stack, family where
 * the file names one, room for input) and given the task it is to serve.
 */
import { EngineError } from '../engine/engine-error.js';
import { decodePeftAdapter } from '../engine/peft-adapter.js';
import { readPromptFile } from '../engine/prompt-file.js';
import { resolvePromptSpec, storedTensorShapes, trainableParameterCount, type PromptSpec } from '../engine/prompts/prompt-spec.js';
import type { HostTensor } from '../engine/safetensors.js';
import { catalogTaskSpec, TASK_CATALOG, type TaskId } from '../engine/tasks/task-catalog.js';
import { checkInputRoom } from '../engine/tasks/task-encoder.js';
import { validateTaskSpec, type TaskSpec } from '../engine/tasks/task-spec.js';
import type { NewPrompt, Tensor } from '../db/prompts-repository.js';
import { unpackAdapter } from './adapter-archive.js';
import { ApiError } from './api-error.js';
import type { ModelInfo } from './model-registry.js';

export interface PromptImportRequest {
  readonly model: string;
  readonly format: 'peft' | 'prompt-file';
  /** The tar of the adapter folder, or the prompt file, base64-encoded. */
  readonly file: string;
  /** What the prompt is for; a prompt file's own task when absent. */
  readonly task?: TaskSpec | TaskId;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(file: string): Uint8Array {
  if (file.length % 4 !== 0 || !BASE64.test(file)) throw new ApiError(400, 'VALIDATION_FAILED', '"file" is not base64');
  return Buffer.from(file, 'base64');
}

function taskOf(requested: TaskSpec | TaskId | undefined, fallback: TaskSpec | undefined, model: ModelInfo): TaskSpec {
  const task = typeof requested === 'string' ? catalogTaskSpec(TASK_CATALOG[requested], model.promptStack) : (requested ?? fallback);
  if (!task) throw new ApiError(400, 'VALIDATION_FAILED', 'a PEFT adapter names no task: give "task" (a task spec or a catalog id)');
  validateTaskSpec(task);
  return task;
}

/** A file's metrics as the API shows them: the validation loss with accuracy and macro-F1 where numbers, or none. */
function evaluationMetricsOf(metrics: unknown): object {
  const fields = (typeof metrics === 'object' && metrics !== null ? metrics : {}) as Record<string, unknown>;
  const finite = (key: string) => (typeof fields[key] === 'number' && Number.isFinite(fields[key]) ? { [key]: fields[key] } : {});
  return 'loss' in finite('loss') ? { ...finite('loss'), ...finite('accuracy'), ...finite('macroF1') } : {};
}

const storedTensors = (tensors: ReadonlyMap<string, HostTensor>, names: readonly string[]): Record<string, Tensor> =>
  Object.fromEntries(names.map((name) => {
    const { shape, data } = tensors.get(name)!;
    return [name, { shape: [...shape], data }];
  }));

/** The prompt a request imports, for `tenantId`'s store; throws a 400 (ApiError or EngineError) for anything that does not fit. */
export function importedPrompt(request: PromptImportRequest, model: ModelInfo, tenantId: string): NewPrompt {
  const bytes = decodeBase64(request.file);
  const { hiddenSize: d, maxPositions } = model.dims;
  let imported: { spec: PromptSpec; tensors: Record<string, Tensor>; task: TaskSpec; metrics: object; activation: string | null };
  if (request.format === 'peft') {
    const { config, weights } = unpackAdapter(bytes);
    const X = decodePeftAdapter(config, weights, { stack: model.promptStack, hiddenSize: d });
    const n = X.shape[0]!;
    imported = { spec: { method: 'pt', n }, tensors: storedTensors(new Map([['X', X]]), ['X']), task: taskOf(request.task, undefined, model), metrics: {}, activation: null };
  } else {
    const file = readPromptFile({ bytes, name: 'the prompt file' });
    const mismatch = [
      file.model.hiddenSize !== d && `width ${file.model.hiddenSize}, not ${d}`,
      file.model.stack !== model.promptStack && `a ${file.model.stack} prompt, not an ${model.promptStack} one`,
      file.model.type !== model.modelType && `family ${file.model.type}, not ${model.modelType}`,
    ].filter(Boolean);
    if (mismatch.length > 0) throw new EngineError('PROMPT_FILE_INVALID', `the prompt file is for another model than ${model.id}: ${mismatch.join('; ')}`);
    const { spec } = file;
    imported = {
      spec: { method: spec.method, n: spec.n, ...(spec.r ? { r: spec.r } : {}), activation: spec.activation, init: spec.init, ...(spec.initText ? { initText: spec.initText } : {}), seed: spec.seed },
      tensors: storedTensors(file.tensors, Object.keys(storedTensorShapes(spec, d, { materialised: true }))),
      task: taskOf(request.task, file.task, model),
      metrics: evaluationMetricsOf(file.metrics),
      activation: spec.method === 'lopt2' ? spec.activation : null,
    };
  }
  const { spec, tensors, task, metrics, activation } = imported;
  if (spec.n >= maxPositions) throw new EngineError('SEQUENCE_TOO_LONG', `n = ${spec.n} prompt rows leave no room for input in ${model.id}'s ${maxPositions} positions`);
  checkInputRoom(task, { maxPositions, promptRows: spec.n });
  const trainableParameters = trainableParameterCount(resolvePromptSpec(spec, d), d);
  return {
    tenantId, jobId: null, source: request.format, spec, modelId: model.id,
    method: spec.method, n: spec.n, r: spec.r ?? null, activation, trainableParameters, task, metrics, tensors,
  };
}
