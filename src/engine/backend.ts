/**
 * Chooses the TensorFlow.js backend: the native CUDA build, else WebGPU on a hardware adapter,
 * else the native CPU build, else WebAssembly, else plain JavaScript. The native packages and
 * Dawn are optional dependencies that cannot install everywhere, so they are imported only when
 * tried. WebGPU on a software adapter is never chosen by `auto`: it must be named.
 */
import { EngineError } from './engine-error.js';
import { detectMemoryLimit } from './memory-limit.js';
import { restoreBuiltinKernels, useNativeKernels, type NativeKernelsStatus } from './native/native-kernels.js';
import { tf } from './tf.js';
import { guardWasmHeap } from './wasm-heap.js';
import { closeWebGpu, openWebGpu, webGpuFault, type GpuAdapterInfo, type GpuProvider } from './webgpu-device.js';

/** The order `auto` tries. */
export const AUTO_ORDER = ['node-gpu', 'webgpu', 'node', 'wasm', 'cpu'] as const;
export const BACKEND_NAMES = [...AUTO_ORDER, 'webgpu-software'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type BackendPreference = BackendName | 'auto';
/** OpenBLAS matMul kernels: where built (`auto`), never (`off`), or an error when unavailable (`on`). */
export const NATIVE_KERNEL_MODES = ['auto', 'off', 'on'] as const;
export type NativeKernelsMode = (typeof NATIVE_KERNEL_MODES)[number];

export interface BackendOptions extends NativeKernelOptions {
  /** Where WebGPU comes from: Dawn's by default (tests pass one without adapters). */
  readonly gpu?: GpuProvider;
  /** Bytes this process may use; models and batches that would not fit are refused (memory-budget.ts). @defaultValue the machine's or container's memory */
  readonly memoryLimitBytes?: number;
}

interface BackendCandidate {
  /** Readies what must exist before `tf.setBackend`: imports its package, or opens its GPU device. */
  readonly prepare?: (options: BackendOptions) => Promise<GpuAdapterInfo | void>;
  /** Releases what `prepare` opened. */
  readonly close?: () => void;
  /** The name the backend registers under in TensorFlow.js. */
  readonly tfjsName: string;
  /**
   * Whether matMul with a transposed operand runs as fast as a plain one. Where it does not
   * (wasm: 10–40× slower), frozen layers keep a precomputed Wᵀ for their backward pass.
   */
  readonly fastTransposedMatMul: boolean;
}

const importPackage = (specifier: string) => async () => {
  await import(specifier); // a variable keeps the type checker from resolving it
};
const webgpu = (allowSoftware: boolean): BackendCandidate => ({
  prepare: ({ gpu }) => openWebGpu({ allowSoftware, ...(gpu ? { gpu } : {}) }),
  close: closeWebGpu,
  tfjsName: 'webgpu',
  fastTransposedMatMul: true,
});

const CANDIDATES: Record<BackendName, BackendCandidate> = {
  'node-gpu': { prepare: importPackage('@tensorflow/tfjs-node-gpu'), tfjsName: 'tensorflow', fastTransposedMatMul: true },
  webgpu: webgpu(false),
  'webgpu-software': webgpu(true),
  node: { prepare: importPackage('@tensorflow/tfjs-node'), tfjsName: 'tensorflow', fastTransposedMatMul: true },
  wasm: { tfjsName: 'wasm', fastTransposedMatMul: false },
  cpu: { tfjsName: 'cpu', fastTransposedMatMul: false },
};

export interface BackendInfo {
  readonly name: BackendName;
  readonly tfjsName: string;
  readonly tfjsVersion: string;
  readonly fastTransposedMatMul: boolean;
  /** Whether OpenBLAS runs the matMuls (and with how many threads), or why not. */
  readonly nativeKernels: NativeKernelsStatus;
  /** The GPU the WebGPU backend runs on; absent for the others. */
  readonly adapter?: GpuAdapterInfo;
  /** Why each backend tried before this one was passed over. */
  readonly skipped: ReadonlyArray<{ name: BackendName; reason: string }>;
  /** Bytes this process may use (BackendOptions.memoryLimitBytes, else the machine's or container's). */
  readonly memoryLimitBytes: number;
}

let active: BackendInfo | undefined;

async function start(name: BackendName, options: BackendOptions): Promise<GpuAdapterInfo | void> {
  const candidate = CANDIDATES[name];
  try {
    const adapter = await candidate.prepare?.(options);
    if (!(await tf.setBackend(candidate.tfjsName))) {
      throw new Error(`tf.setBackend('${candidate.tfjsName}') returned false`);
    }
    await tf.ready();
    return adapter;
  } catch (err) {
    candidate.close?.();
    throw err;
  }
}

export function parseBackendPreference(value: string | undefined): BackendPreference {
  const preference = value ?? 'auto';
  if (preference === 'auto' || (BACKEND_NAMES as readonly string[]).includes(preference)) {
    return preference as BackendPreference;
  }
  throw new EngineError('BAD_ARGUMENT', `unknown backend "${preference}"; expected auto or one of ${BACKEND_NAMES.join(', ')}`);
}

export function parseNativeKernelsMode(value: string | undefined): NativeKernelsMode {
  const mode = value ?? 'auto';
  if ((NATIVE_KERNEL_MODES as readonly string[]).includes(mode)) return mode as NativeKernelsMode;
  throw new EngineError('BAD_ARGUMENT', `unknown native kernels mode "${mode}"; expected ${NATIVE_KERNEL_MODES.join(', ')}`);
}

export interface NativeKernelOptions {
  /** @defaultValue `auto` */
  readonly nativeKernels?: NativeKernelsMode;
  /** OpenBLAS threads of the native kernels. @defaultValue OpenBLAS's own choice (OPENBLAS_NUM_THREADS, else every core) */
  readonly nativeThreads?: number;
}

function nativeKernelsFor(tfjsName: string, { nativeKernels: mode = 'auto', nativeThreads }: NativeKernelOptions): NativeKernelsStatus {
  if (mode === 'off') return { active: false, reason: 'turned off' };
  const status = useNativeKernels(tfjsName, nativeThreads);
  if (!status.active && mode === 'on') {
    throw new EngineError('BACKEND_UNAVAILABLE', `native kernels were asked for but cannot run: ${status.reason}`);
  }
  return status;
}

/**
 * Starts the preferred backend, or the first that works in AUTO_ORDER for `auto`. A backend
 * asked for by name that cannot start is an error, never a silent fallback. On wasm and cpu the
 * OpenBLAS kernels stand in for the matMuls as `nativeKernels` says.
 */
export async function initBackend(preference: BackendPreference = 'auto', options: BackendOptions = {}): Promise<BackendInfo> {
  tf.enableProdMode();
  restoreBuiltinKernels();
  const order = preference === 'auto' ? AUTO_ORDER : [preference];
  const skipped: Array<{ name: BackendName; reason: string }> = [];
  for (const name of order) {
    let adapter: GpuAdapterInfo | void;
    try {
      adapter = await start(name, options);
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0] ?? String(err);
      if (preference !== 'auto') {
        throw new EngineError('BACKEND_UNAVAILABLE', `backend "${name}" was asked for but cannot start: ${reason}`, { cause: err });
      }
      skipped.push({ name, reason });
      continue;
    }
    const { tfjsName, fastTransposedMatMul } = CANDIDATES[name];
    if (tfjsName === 'wasm') guardWasmHeap();
    const native = nativeKernelsFor(tfjsName, options);
    active = {
      name, tfjsName, tfjsVersion: tf.version_core, fastTransposedMatMul: fastTransposedMatMul || native.active,
      nativeKernels: native, ...(adapter ? { adapter } : {}), skipped, memoryLimitBytes: detectMemoryLimit(options.memoryLimitBytes),
    };
    return active;
  }
  throw new EngineError('BACKEND_UNAVAILABLE', `no TensorFlow.js backend could start: ${JSON.stringify(skipped)}`);
}

/** The backend's name as readiness shows it: `wasm`, `wasm+openblas`, `webgpu`. */
export function backendLabel(info: BackendInfo): string {
  return info.nativeKernels.active ? `${info.name}+openblas` : info.name;
}

/** `wasm+openblas`, or "webgpu on <the GPU>": for logs. */
export function describeBackend(info: BackendInfo): string {
  const { adapter } = info;
  return adapter ? `${info.name} on ${adapter.description || adapter.device} (${adapter.vendor} ${adapter.architecture})` : backendLabel(info);
}

/** The backend chosen by the last `initBackend`; throws if none was started. */
export function activeBackend(): BackendInfo {
  if (!active || tf.getBackend() !== active.tfjsName) {
    throw new EngineError('BACKEND_UNAVAILABLE', 'no backend started: call initBackend() first');
  }
  return active;
}

/**
 * Throws if the active backend's device failed since it started. WebGPU reports a failed dispatch
 * or a lost device asynchronously and goes on returning numbers, so callers check after reading
 * results and before trusting them.
 */
export function assertBackendHealthy(): void {
  const fault = active?.tfjsName === 'webgpu' ? webGpuFault() : null;
  if (fault) throw new EngineError('DEVICE_FAILED', `the GPU failed, so results computed since cannot be trusted: ${fault}`);
}

/** Releases the GPU device WebGPU holds, if it does: Node does not exit while it is open. */
export function shutdownBackend(): void {
  closeWebGpu();
  if (active?.tfjsName === 'webgpu') active = undefined;
}
