/**
 * Guards TF.js's WebAssembly heap against its two silent failures. When the heap (4 GiB at most)
 * cannot grow, malloc returns address 0; a size of 4 GiB or more wraps around to a small one.
 * TF.js uses the address either way, so the next kernel writes over other tensors (the model's
 * weights among them) until it traps, and the backend is ruined for every later job. Checked
 * here instead, an allocation too large fails before anything is written and the backend stays
 * usable.
 */
import { tf } from './tf.js';

/** The wasm heap cannot hold an allocation: nothing was written, the backend is still sound. */
export class WasmHeapExhaustedError extends RangeError {
  constructor(readonly bytes: number, readonly heapBytes: number) {
    super(`the WebAssembly heap (${gib(heapBytes)} GiB in use, 4 GiB at most) cannot hold ${gib(bytes)} GiB more`);
    this.name = 'WasmHeapExhaustedError';
    Object.setPrototypeOf(this, WasmHeapExhaustedError.prototype);
  }
}

const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(2);

/** What TF.js's wasm backend calls: the Emscripten module's malloc, and its raw export. */
interface WasmModule {
  _malloc(bytes: number): number;
  readonly asm: { malloc(bytes: number): number };
  readonly HEAPU8: Uint8Array;
}

/** A wasm32 address and size are unsigned 32-bit: larger sizes wrap. */
const LARGEST_ALLOCATION = 2 ** 32 - 1;
const guarded = new WeakSet<WasmModule>();

/** Makes the active wasm backend's allocations fail loudly (WasmHeapExhaustedError) instead of silently. */
export function guardWasmHeap(): void {
  const module = (tf.backend() as unknown as { wasm?: WasmModule }).wasm;
  if (!module || guarded.has(module)) return;
  // The raw export: Emscripten's `_malloc` replaces itself with it on its first call.
  const malloc = module.asm.malloc;
  module._malloc = (bytes: number) => {
    const address = bytes <= LARGEST_ALLOCATION ? malloc(bytes) : 0;
    if (address === 0 && bytes > 0) throw new WasmHeapExhaustedError(bytes, module.HEAPU8.byteLength);
    return address;
  };
  guarded.add(module);
}
