/**
 * WebGPU binds each tensor whole, and a tensor over the device's binding limit computes wrong
 * numbers instead of failing, so the model refuses such shapes before running them.
 */
import { activeBackend } from './backend.js';
import { EngineError } from './engine-error.js';

const BYTES_PER_VALUE = 4; // float32 and int32 alike
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** Throws TENSOR_TOO_LARGE if a float32 tensor of `shape` does not fit the active GPU; `what` names it in the message. */
export function assertTensorFits(what: string, shape: readonly number[]): void {
  const adapter = activeBackend().adapter;
  if (!adapter) return;
  const limit = Math.min(adapter.maxStorageBufferBindingSize, adapter.maxBufferSize);
  const bytes = shape.reduce((size, n) => size * n, BYTES_PER_VALUE);
  if (bytes > limit) {
    throw new EngineError(
      'TENSOR_TOO_LARGE',
      `${what} [${shape.join(', ')}] would take ${mib(bytes)} MiB, over the ${mib(limit)} MiB one GPU buffer may bind on ${adapter.description}`,
    );
  }
}
