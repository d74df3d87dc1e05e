/**
 * Inference off the API's event loop: requests go to a worker thread that holds the models and
 * batches concurrent requests (for any mix of prompts) into shared forward passes.
 */
import type { BackendOptions, BackendPreference } from '../engine/backend.js';
import { EngineError, type EngineErrorCode } from '../engine/engine-error.js';
import type { Classification } from '../engine/infer.js';
import { moduleBeside, startModuleThread } from '../threads/module-thread.js';
import type { InferenceRequest, InferenceResult, InferenceTuning, ReadyBackend, ThreadMessage, ToInferenceThread } from './messages.js';

export type InferenceCall = Omit<InferenceRequest, 'id' | 'kind'>;

export interface InferenceService {
  classify(call: InferenceCall): Promise<readonly Classification[]>;
  /** With `call.stream`, `onText` hears each input's text as it grows (index, what it added). */
  generate(call: InferenceCall, onText?: (index: number, text: string) => void): Promise<readonly string[]>;
  /** The backend the thread started, once it has. */
  ready(): Promise<ReadyBackend>;
  /** Drops what the thread cached of a prompt (it was deleted). */
  forget(promptKey: string): void;
  close(): Promise<void>;
}

const THREAD_MODULE = moduleBeside(import.meta.url, 'inference-thread');

/** A thread that exits (its backend aborted, or it crashed) is started again after this pause. */
const RESTART_DELAY_MS = 1000;

interface Pending {
  onText?: ((index: number, text: string) => void) | undefined;
  resolve: (result: InferenceResult) => void;
  reject: (err: Error) => void;
}

/**
 * The thread, supervised: when it exits unexpectedly, the calls it held fail with
 * BACKEND_UNAVAILABLE (503) and a fresh thread is started, so inference comes back by itself.
 */
export interface InferenceThreadOptions {
  readonly models: ReadonlyMap<string, string>;
  readonly backend: BackendPreference;
  readonly backendOptions?: BackendOptions;
  readonly tuning: InferenceTuning;
  /** Told the size of every batch the thread runs (for the metrics). */
  readonly onBatch?: (inputs: number) => void;
}

export function startInferenceThread({ models, backend, backendOptions = {}, tuning, onBatch = () => undefined }: InferenceThreadOptions): InferenceService {
  const waiting = new Map<number, Pending>();
  let nextId = 1;
  let closing = false;

  function launch() {
    const thread = startModuleThread(THREAD_MODULE, { workerData: { models, backend, backendOptions, tuning } });
    let readyResolve!: (backend: ReadyBackend) => void;
    let readyReject!: (err: Error) => void;
    const started = new Promise<ReadyBackend>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    started.catch(() => undefined);
    const failAll = (err: Error) => {
      readyReject(err);
      for (const { reject } of waiting.values()) reject(err);
      waiting.clear();
    };
    thread.on('message', (message: ThreadMessage) => {
      if (message.type === 'ready') return readyResolve(message.backend);
      if (message.type === 'batch') return onBatch(message.inputs);
      if (message.type === 'error' && message.id === null) return failAll(new EngineError(message.code as EngineErrorCode, message.message));
      if (message.type === 'text') return waiting.get(message.id)?.onText?.(message.index, message.text);
      const call = waiting.get(message.id!);
      waiting.delete(message.id!);
      if (message.type === 'result') call?.resolve(message.result);
      else call?.reject(new EngineError(message.code as EngineErrorCode, message.message));
    });
    thread.on('error', failAll);
    thread.on('exit', (code) => {
      launched.alive = false;
      failAll(new EngineError('BACKEND_UNAVAILABLE', `the inference thread exited (code ${code}); it is restarting`));
      if (!closing) setTimeout(() => (current = launch()), RESTART_DELAY_MS).unref();
    });
    const launched = { thread, started, alive: true };
    return launched;
  }
  let current = launch();

  const send = (kind: InferenceRequest['kind'], call: InferenceCall, onText?: Pending['onText']) =>
    new Promise<InferenceResult>((resolve, reject) => {
      if (!current.alive) return reject(new EngineError('BACKEND_UNAVAILABLE', 'the inference thread is restarting; try again shortly'));
      const id = nextId++;
      waiting.set(id, { resolve, reject, onText });
      current.thread.postMessage({ ...call, id, kind } satisfies InferenceRequest);
    });

  return {
    async classify(call) {
      const result = await send('classify', call);
      return result.kind === 'classify' ? result.predictions : [];
    },
    async generate(call, onText) {
      const result = await send('generate', call, onText);
      return result.kind === 'generate' ? result.outputs : [];
    },
    ready: () => current.started,
    forget(promptKey) {
      if (current.alive) current.thread.postMessage({ kind: 'forget', promptKey } satisfies ToInferenceThread);
    },
    async close() {
      closing = true;
      current.thread.removeAllListeners('exit');
      await current.thread.terminate();
    },
  };
}
