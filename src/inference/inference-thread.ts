/**
 * The inference thread: holds the frozen models and recent prompts, and answers requests in
 * micro-batches. Requests that arrive while a batch runs are queued, and the next batch takes
 * all of them (up to MAX_ROWS inputs): rows of different prompts share one forward pass.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { backendLabel, initBackend, type BackendOptions, type BackendPreference } from '../engine/backend.js';
import { backendBroken } from '../engine/backend-guard.js';
import { EngineError } from '../engine/engine-error.js';
import { classify, generate } from '../engine/infer.js';
import { assertModelLoadable } from '../engine/models/load-model.js';
import { TaskEncoder } from '../engine/tasks/task-encoder.js';
import { tf } from '../engine/tf.js';
import { createModelCache, type LoadedModel } from '../worker/model-cache.js';
import type { InferenceRequest, InferenceResult, ThreadMessage } from './messages.js';

const MAX_ROWS = 64;
const CACHED_PROMPTS = 64;

const { models: folders, backend, backendOptions } = workerData as { models: Map<string, string>; backend: BackendPreference; backendOptions: BackendOptions };
const port = parentPort!;
const send = (message: ThreadMessage) => port.postMessage(message);
const models = createModelCache(folders);
const prompts = new Map<string, tf.Tensor2D>();
const pending: InferenceRequest[] = [];
let running = false;

function promptTensor(request: InferenceRequest): tf.Tensor2D {
  let tensor = prompts.get(request.promptKey);
  if (!tensor) {
    tensor = tf.tensor2d(request.prompt.data, request.prompt.shape);
    prompts.set(request.promptKey, tensor);
    if (prompts.size > CACHED_PROMPTS) {
      const [oldest, stale] = prompts.entries().next().value!;
      prompts.delete(oldest);
      stale.dispose();
    }
  }
  return tensor;
}

interface Encoded {
  readonly request: InferenceRequest;
  readonly prompt: tf.Tensor2D;
  readonly encoder: TaskEncoder;
  readonly inputs: number[][];
}

function encode(request: InferenceRequest, loaded: LoadedModel): Encoded {
  const prompt = promptTensor(request);
  const encoder = new TaskEncoder(request.task, loaded.tokenizer, { maxPositions: loaded.model.dims.maxPositions, promptRows: prompt.shape[0] });
  const inputs = request.inputs.map((fields, i) => encoder.encodeInput(fields, `input ${i + 1}`));
  return { request, prompt, encoder, inputs };
}

/** Runs one model's share of a batch: all classify rows in one pass, all generate rows in another. */
async function runBatch(loaded: LoadedModel, batch: Encoded[]): Promise<Map<number, InferenceResult>> {
  const results = new Map<number, InferenceResult>();
  const classifying = batch.filter((e) => e.request.kind === 'classify');
  if (classifying.length) {
    const rows = classifying.flatMap(({ prompt, encoder, inputs }) =>
      inputs.map((input) => ({ prompt, input, labels: encoder.labels, labelTokens: encoder.labelTokens })),
    );
    const predictions = await classify(loaded.model, rows);
    let offset = 0;
    for (const { request, inputs } of classifying) {
      results.set(request.id, { kind: 'classify', predictions: predictions.slice(offset, offset + inputs.length) });
      offset += inputs.length;
    }
  }
  const generating = batch.filter((e) => e.request.kind === 'generate');
  if (generating.length) {
    const maxNewTokens = Math.max(...generating.map(({ request, encoder }) => request.maxNewTokens ?? encoder.maxTargetTokens));
    const rows = generating.flatMap(({ prompt, inputs }) => inputs.map((input) => ({ prompt, input })));
    const outputs = await generate(loaded.model, rows, { maxNewTokens, stopTokenIds: loaded.tokenizer.stopTokenIds });
    let offset = 0;
    for (const { request, encoder, inputs } of generating) {
      const limit = request.maxNewTokens ?? encoder.maxTargetTokens;
      results.set(request.id, { kind: 'generate', outputs: outputs.slice(offset, offset + inputs.length).map((ids) => encoder.decode(ids.slice(0, limit))) });
      offset += inputs.length;
    }
  }
  return results;
}

function fail(id: number, err: unknown): void {
  const code = err instanceof EngineError ? err.code : 'INTERNAL';
  send({ type: 'error', id, code, message: (err as Error).message });
}

/** Answers requests for one model in one batch; a batch too large for memory is tried request by request, so only a request too large alone fails. */
async function answer(group: InferenceRequest[]): Promise<void> {
  try {
    const loaded = await models.get(group[0]!.modelId);
    const encoded: Encoded[] = [];
    for (const request of group) {
      try {
        encoded.push(encode(request, loaded));
      } catch (err) {
        fail(request.id, err);
      }
    }
    const results = await runBatch(loaded, encoded);
    for (const [id, result] of results) send({ type: 'result', id, result });
  } catch (err) {
    if (err instanceof EngineError && err.code === 'BATCH_TOO_LARGE' && group.length > 1) {
      for (const request of group) await answer([request]);
    } else {
      for (const request of group) fail(request.id, err);
    }
  }
}

async function drain(): Promise<void> {
  running = true;
  while (pending.length) {
    let rows = 0;
    const taken: InferenceRequest[] = [];
    while (pending.length && (taken.length === 0 || rows + pending[0]!.inputs.length <= MAX_ROWS)) {
      const next = pending.shift()!;
      rows += next.inputs.length;
      taken.push(next);
    }
    for (const modelId of new Set(taken.map((r) => r.modelId))) await answer(taken.filter((r) => r.modelId === modelId));
    // A backend that aborted cannot be trusted again: end this thread, and the service starts a fresh one.
    const broken = backendBroken();
    if (broken) {
      for (const request of pending.splice(0)) fail(request.id, new EngineError('BACKEND_FAILED', `the inference backend failed (${broken}); it is restarting`));
      process.exit(1);
    }
  }
  running = false;
}

port.on('message', (request: InferenceRequest) => {
  pending.push(request);
  if (!running) void drain();
});

/** The models that would not fit this process now, each with the reason (checked from config.json: nothing is loaded). */
async function unservableModels(): Promise<Record<string, string>> {
  const refused: Record<string, string> = {};
  for (const [id, folder] of folders) {
    await assertModelLoadable(folder).catch((err: Error) => (refused[id] = err.message));
  }
  return refused;
}

try {
  const info = await initBackend(backend, backendOptions);
  send({ type: 'ready', backend: { name: backendLabel(info), ...(info.adapter ? { adapter: info.adapter } : {}), unservable: await unservableModels() } });
} catch (err) {
  send({ type: 'error', id: null, code: 'BACKEND_UNAVAILABLE', message: (err as Error).message });
}
