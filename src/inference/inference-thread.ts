/**
 * The inference thread: holds the frozen models and recent prompts, and answers requests in
 * micro-batches. Requests that arrive while a batch runs are queued, and the next batch takes
 * all of them (up to `maxRows` inputs); while requests are arriving, a batch also waits a few
 * milliseconds for more (InferenceTuning.batchWindowMs). Rows of different prompts share one
 * forward pass. Prompts are cached (prefix-cache.ts): for a decoder-only model as its prefix
 * state (its keys and values at every layer), so a request costs only its own tokens; for an
 * encoder-decoder as its tensor (its encoder sees prompt and input together).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { backendLabel, initBackend, type BackendOptions, type BackendPreference } from '../engine/backend.js';
import { backendBroken } from '../engine/backend-guard.js';
import { EngineError } from '../engine/engine-error.js';
import { classify, generate } from '../engine/infer.js';
import { isCausalLanguageModel } from '../engine/models/frozen-model.js';
import { assertModelLoadable } from '../engine/models/load-model.js';
import { TaskEncoder } from '../engine/tasks/task-encoder.js';
import { tf } from '../engine/tf.js';
import { createModelCache, type LoadedModel } from '../worker/model-cache.js';
import type { InferenceRequest, InferenceResult, InferenceTuning, ThreadMessage, ToInferenceThread } from './messages.js';
import { createPrefixCache, prefixKey, type PromptOfRows } from './prefix-cache.js';

const { models: folders, backend, backendOptions, tuning } = workerData as {
  models: Map<string, string>;
  backend: BackendPreference;
  backendOptions: BackendOptions;
  tuning: InferenceTuning;
};
const port = parentPort!;
const send = (message: ThreadMessage) => port.postMessage(message);
const backendStarted = initBackend(backend, backendOptions);
backendStarted.catch(() => undefined); // reported once, below
const models = createModelCache(folders);
const prefixes = createPrefixCache(tuning.prefixCacheBytes);
/** `busy`: the request came within the batch window of the one before it, so more are likely on their way. */
const pending: Array<{ request: InferenceRequest; arrived: number; busy: boolean }> = [];
let lastArrival = -Infinity;
let running = false;

const promptTensorOf = (request: InferenceRequest) => tf.tensor2d(request.prompt.data, request.prompt.shape);

/** A request's prompt as its rows need it, from the cache: the prefix state of a decoder-only model, else the tensor. */
function promptOf(request: InferenceRequest, loaded: LoadedModel): PromptOfRows {
  const { model } = loaded;
  return prefixes.get(prefixKey(request.modelId, request.promptKey), () => {
    const prompt = promptTensorOf(request);
    if (!isCausalLanguageModel(model)) return { rows: { prompt }, bytes: 4 * prompt.size, dispose: () => prompt.dispose() };
    try {
      const prefix = model.prefixState(prompt);
      return { rows: { prefix }, bytes: prefix.bytes, dispose: () => prefix.dispose() };
    } finally {
      prompt.dispose();
    }
  });
}

interface Encoded {
  readonly request: InferenceRequest;
  readonly prompt: PromptOfRows;
  readonly encoder: TaskEncoder;
  readonly inputs: number[][];
}

function encode(request: InferenceRequest, loaded: LoadedModel): Encoded {
  const encoder = new TaskEncoder(request.task, loaded.tokenizer, { maxPositions: loaded.model.dims.maxPositions, promptRows: request.prompt.shape[0] });
  const inputs = request.inputs.map((fields, i) => encoder.encodeInput(fields, `input ${i + 1}`));
  return { request, prompt: promptOf(request, loaded), encoder, inputs };
}

/**
 * Requests of one kind in the order a pass wants them, and split where it must be: rows of one
 * pass need prompts of one length, and rows of the same prompt side by side share its state.
 */
function passesOf(batch: readonly Encoded[]): Encoded[][] {
  const byLength = new Map<number, Encoded[]>();
  for (const encoded of [...batch].sort((a, b) => a.request.promptKey.localeCompare(b.request.promptKey))) {
    const rows = encoded.request.prompt.shape[0];
    const pass = byLength.get(rows) ?? byLength.set(rows, []).get(rows)!;
    pass.push(encoded);
  }
  return [...byLength.values()];
}

/** Runs one model's share of a batch: its classify rows in one pass per prompt length, its generate rows likewise. */
async function runBatch(loaded: LoadedModel, batch: Encoded[]): Promise<Map<number, InferenceResult>> {
  const results = new Map<number, InferenceResult>();
  for (const pass of passesOf(batch.filter((e) => e.request.kind === 'classify'))) {
    const rows = pass.flatMap(({ prompt, encoder, inputs }) => inputs.map((input) => ({ ...prompt, input, labels: encoder.labels, labelTokens: encoder.labelTokens })));
    const predictions = await classify(loaded.model, rows);
    let offset = 0;
    for (const { request, inputs } of pass) {
      results.set(request.id, { kind: 'classify', predictions: predictions.slice(offset, offset + inputs.length) });
      offset += inputs.length;
    }
  }
  for (const pass of passesOf(batch.filter((e) => e.request.kind === 'generate'))) {
    // Each input is a row with its request's bound and sampling (and its own seeded draws).
    const owners = pass.flatMap((encoded) => encoded.inputs.map((input, index) => ({ encoded, input, index })));
    const rows = owners.map(({ encoded: { prompt, request, encoder }, input }) => ({
      ...prompt, input, maxNewTokens: request.maxNewTokens ?? encoder.maxTargetTokens, ...(request.sampling ? { sampling: request.sampling } : {}),
    }));
    const streams = owners.map(({ encoded }) => (encoded.request.stream ? textStream(encoded) : null));
    const outputs = await generate(loaded.model, rows, {
      maxNewTokens: Math.max(...rows.map(({ maxNewTokens }) => maxNewTokens)),
      stopTokenIds: loaded.tokenizer.stopTokenIds,
      onTokens: (tokens) => tokens.forEach(({ row, token }) => streams[row]?.(owners[row]!.index, token)),
    });
    let offset = 0;
    for (const { request, encoder, inputs } of pass) {
      results.set(request.id, { kind: 'generate', outputs: outputs.slice(offset, offset + inputs.length).map((ids) => encoder.decode(ids)) });
      offset += inputs.length;
    }
  }
  return results;
}

/**
 * Sends a streamed request's inputs' text as it grows: each input's tokens so far decoded, less
 * what was sent. A text that ends in a character still incomplete (a byte-level token's half of
 * a UTF-8 sequence decodes as U+FFFD) is held back until it completes.
 */
function textStream({ request, encoder }: Encoded): (index: number, token: number) => void {
  const ids = request.inputs.map((): number[] => []);
  const sent = request.inputs.map(() => '');
  return (index, token) => {
    ids[index]!.push(token);
    const text = encoder.decode(ids[index]!);
    if (text.endsWith('\uFFFD') || !text.startsWith(sent[index]!) || text.length === sent[index]!.length) return;
    send({ type: 'text', id: request.id, index, text: text.slice(sent[index]!.length) });
    sent[index] = text;
  };
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
  } finally {
    prefixes.release();
  }
}

const pendingRows = () => pending.reduce((sum, { request }) => sum + request.inputs.length, 0);

/** While requests are arriving, the first one's batch waits up to the window for more (unless it is full). */
async function batchWindow(): Promise<void> {
  const first = pending[0];
  if (!first?.busy) return;
  const wait = first.arrived + tuning.batchWindowMs - performance.now();
  if (wait > 0 && pendingRows() < tuning.maxRows) await sleep(wait);
}

/**
 * Lets the messages that arrived meanwhile in: a batch on the CPU backends runs without giving
 * the event loop a turn, so without this each batch would see only the request that started it.
 */
const deliverArrivals = () => new Promise((resolve) => setImmediate(resolve));

async function drain(): Promise<void> {
  running = true;
  // Requests that come while the backend is still starting wait for it; if it cannot start, they fail with why.
  const started = await backendStarted.then(() => null, (err: Error) => err.message);
  if (started !== null) {
    for (const { request } of pending.splice(0)) fail(request.id, new EngineError('BACKEND_UNAVAILABLE', started));
    running = false;
    return;
  }
  while ((await deliverArrivals(), pending.length)) {
    await batchWindow();
    let rows = 0;
    const taken: InferenceRequest[] = [];
    while (pending.length && (taken.length === 0 || rows + pending[0]!.request.inputs.length <= tuning.maxRows)) {
      const { request } = pending.shift()!;
      rows += request.inputs.length;
      taken.push(request);
    }
    send({ type: 'batch', inputs: rows });
    for (const modelId of new Set(taken.map((r) => r.modelId))) await answer(taken.filter((r) => r.modelId === modelId));
    // A backend that aborted cannot be trusted again: end this thread, and the service starts a fresh one.
    const broken = backendBroken();
    if (broken) {
      for (const { request } of pending.splice(0)) fail(request.id, new EngineError('BACKEND_FAILED', `the inference backend failed (${broken}); it is restarting`));
      process.exit(1);
    }
  }
  running = false;
}

port.on('message', (message: ToInferenceThread) => {
  if (message.kind === 'forget') return prefixes.forget(message.promptKey);
  const arrived = performance.now();
  pending.push({ request: message, arrived, busy: arrived - lastArrival < tuning.batchWindowMs });
  lastArrival = arrived;
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
  const info = await backendStarted;
  send({ type: 'ready', backend: { name: backendLabel(info), ...(info.adapter ? { adapter: info.adapter } : {}), unservable: await unservableModels() } });
} catch (err) {
  send({ type: 'error', id: null, code: 'BACKEND_UNAVAILABLE', message: (err as Error).message });
}
