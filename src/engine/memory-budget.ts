/**
 * Checks, before anything is allocated, that a model's weights and a pass's activations fit
 * where they will live: the process's memory (the machine's or container's, or the limit it was
 * given) and, on the wasm backend, the WebAssembly heap, which ends at 4 GiB. What does not fit is
 * refused with the bytes needed, the limit and what to change, instead of the backend aborting
 * (wasm: an out-of-bounds trap that ruins the backend) or the kernel killing the process.
 * On GPUs the device's memory is not known to TF.js: there only host memory is checked (and
 * tensor-limit.ts checks single buffers).
 */
import { activeBackend } from './backend.js';
import { EngineError } from './engine-error.js';
import { tf } from './tf.js';

/** Where a path keeps a kind of tensor. */
export type MemoryPool = 'host' | 'wasm-heap' | 'device';

const WASM_HEAP_BYTES = 4 * 2 ** 30;
/** Left free for what the estimates do not count: the runtime, buffers, small tensors. */
const HOST_HEADROOM_BYTES = 512 * 2 ** 20;
/** The wasm heap's allocator cannot move blocks: after batches of other shapes some of it is in holes too small to use. */
const WASM_HEADROOM_BYTES = 384 * 2 ** 20;

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

/** Where the active backend keeps activations (and its own weight tensors). */
export function backendPool(): MemoryPool {
  const { name } = activeBackend();
  if (name === 'wasm') return 'wasm-heap';
  return name === 'cpu' || name === 'node' ? 'host' : 'device';
}

/** Bytes each checked pool can still take. */
function freeBytes(): { host: number; wasmHeap: number } {
  const { memoryLimitBytes } = activeBackend();
  const host = memoryLimitBytes - process.memoryUsage.rss() - HOST_HEADROOM_BYTES;
  const wasmHeap = backendPool() === 'wasm-heap' ? WASM_HEAP_BYTES - tf.memory().numBytes - WASM_HEADROOM_BYTES : Infinity;
  return { host, wasmHeap };
}

/** Bytes a load or a pass needs in each pool (wasm-heap bytes are host memory too, and are counted there as well). */
export interface MemoryNeed {
  readonly host: number;
  readonly wasmHeap: number;
}

/** The first pool `need` does not fit, with what is free there and the pool's whole size. */
function shortfall(need: MemoryNeed): { pool: string; free: number; size: number } | null {
  const free = freeBytes();
  if (need.wasmHeap > free.wasmHeap) return { pool: 'the WebAssembly heap', free: Math.max(0, free.wasmHeap), size: WASM_HEAP_BYTES };
  if (need.host + need.wasmHeap > free.host) return { pool: "this process's memory", free: Math.max(0, free.host), size: activeBackend().memoryLimitBytes };
  return null;
}

/** Throws MODEL_TOO_LARGE, before anything is read, if `model`'s weights do not fit; `remedy` says what to change. */
export function assertWeightsFit(model: string, need: MemoryNeed, remedy: string): void {
  const short = shortfall(need);
  if (!short) return;
  throw new EngineError(
    'MODEL_TOO_LARGE',
    `${model} needs ${gib(need.host + need.wasmHeap)} for its weights on this path, but ${short.pool} has ${gib(short.free)} free ` +
      `(of ${gib(short.size)}): ${remedy}`,
  );
}

/** Throws BATCH_TOO_LARGE if a pass (`what`) needing `bytes` of activations does not fit where the backend keeps them. */
export function assertActivationsFit(what: string, bytes: number): void {
  const pool = backendPool();
  if (pool === 'device') return;
  const short = shortfall(pool === 'wasm-heap' ? { host: 0, wasmHeap: bytes } : { host: bytes, wasmHeap: 0 });
  if (!short) return;
  throw new EngineError(
    'BATCH_TOO_LARGE',
    `${what} needs about ${gib(bytes)} of activations, but ${short.pool} has ${gib(short.free)} free (of ${gib(short.size)}): ` +
      'use smaller batches (training.batchSize, evalBatchSize, fewer inputs per request) or shorter inputs',
  );
}
