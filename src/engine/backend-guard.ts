/**
 * The one guard around the engine's backend work (a training step, an evaluation, an inference
 * batch): a backend that aborts or runs out of memory becomes EngineError BACKEND_FAILED saying
 * what ran out and what to change, never a bare `RuntimeError: memory access out of bounds`.
 *
 * A WebAssembly abort leaves the wasm heap in an unknown state (a failed kernel may have written
 * anywhere), so from then on every result could be wrong: the backend is marked broken, guarded
 * work is refused, and `backendBroken()` tells the process to restart itself. An allocation that
 * merely did not fit (see wasm-heap.ts) fails cleanly and leaves the backend usable.
 */
import { EngineError } from './engine-error.js';
import { tf } from './tf.js';
import { WasmHeapExhaustedError } from './wasm-heap.js';

export interface BackendWork {
  /** What ran, for the message: "a training step of 64 examples (up to 128 positions each)". */
  readonly what: string;
  /** What the user can change when it does not fit: "use a smaller batchSize". */
  readonly remedy: string;
}

export interface BackendFailure {
  /** `abort`: the backend trapped or aborted and is unusable; `out-of-memory`: an allocation failed cleanly. */
  readonly kind: 'abort' | 'out-of-memory';
  readonly detail: string;
}

/** What a wasm trap or an Emscripten abort() throws (the project's lib types have no WebAssembly). */
const WasmRuntimeError = (globalThis as unknown as { WebAssembly: { RuntimeError: new () => Error } }).WebAssembly.RuntimeError;

/** JavaScript's own allocation failures (typed arrays a backend reads into or computes in). */
const JS_ALLOCATION_FAILED = /Array buffer allocation failed|Invalid typed array length|WebAssembly\.Memory/;

/** Whether an error is a backend abort or an allocation failure, and which; null for any other error. */
export function backendFailureOf(err: unknown): BackendFailure | null {
  if (err instanceof WasmRuntimeError) return { kind: 'abort', detail: err.message };
  if (err instanceof WasmHeapExhaustedError) return { kind: 'out-of-memory', detail: err.message };
  if (err instanceof RangeError && JS_ALLOCATION_FAILED.test(err.message)) return { kind: 'out-of-memory', detail: err.message };
  return null;
}

let broken: string | null = null;

/**
 * Why this process's backend can no longer be trusted (it aborted during guarded work), or null.
 * Set once, never cleared: only a new process gets a sound backend again.
 */
export function backendBroken(): string | null {
  return broken;
}

/** Runs backend work under the guard; refuses it outright once the backend is broken. */
export async function guardBackend<T>(work: BackendWork, run: () => Promise<T>): Promise<T> {
  const backend = tf.getBackend();
  if (broken !== null) {
    throw new EngineError('BACKEND_FAILED', `the ${backend} backend failed earlier (${broken}) and cannot be trusted until the process restarts`);
  }
  try {
    return await run();
  } catch (err) {
    const failure = backendFailureOf(err);
    if (!failure) throw err;
    if (failure.kind === 'abort') {
      broken = `${work.what}: ${failure.detail}`;
      throw new EngineError(
        'BACKEND_FAILED',
        `the ${backend} backend crashed during ${work.what} (${failure.detail}), most likely out of memory: ${work.remedy}. ` +
          'It is unusable until the process restarts.',
        { cause: err },
      );
    }
    throw new EngineError('BACKEND_FAILED', `${work.what} needs more memory than the ${backend} backend has (${failure.detail}): ${work.remedy}`, { cause: err });
  }
}
