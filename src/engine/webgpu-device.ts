/**
 * The WebGPU backend's device, from Dawn's Node bindings (the optional `webgpu` package; Vulkan
 * underneath). tfjs-backend-webgpu is written for browsers: it checks `navigator.gpu` and uses
 * Dawn's GPU* globals, so those are installed while a device is open, and `navigator` is removed
 * again at close (Node does not exit while it holds Dawn's GPU).
 */
import { existsSync, readdirSync } from 'node:fs';
import { withStderrCaptured } from './native/stderr-capture.js';
import { tf } from './tf.js';

export interface GpuAdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** A CPU implementation of Vulkan (Mesa's lavapipe): used only when asked for. */
  readonly software: boolean;
  /** Bytes one shader may bind as one tensor: larger tensors compute wrong numbers. */
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
}

/** Where the WebGPU entry point comes from: Dawn's by default. */
export type GpuProvider = () => Promise<GPU>;

export interface OpenWebGpuOptions {
  readonly allowSoftware: boolean;
  readonly gpu?: GpuProvider;
}

interface OpenDevice {
  readonly device: GPUDevice;
  readonly restoreNavigator: () => void;
  /** The first error the device reported, or why it was lost. */
  fault: string | null;
}

let open: OpenDevice | undefined;

async function dawnGpu(): Promise<GPU> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  return create([]);
}

function describeAdapter(adapter: GPUAdapter): GpuAdapterInfo {
  const { vendor, architecture, device, description, isFallbackAdapter } = adapter.info;
  const { maxStorageBufferBindingSize, maxBufferSize } = adapter.limits;
  return { vendor, architecture, device, description, software: isFallbackAdapter, maxStorageBufferBindingSize, maxBufferSize };
}

/** Puts `navigator.gpu` in place for tfjs-backend-webgpu; returns what undoes it. */
function installNavigator(gpu: GPU): () => void {
  const previous = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return () => {
    if (previous) Object.defineProperty(globalThis, 'navigator', previous);
    else Reflect.deleteProperty(globalThis, 'navigator');
  };
}

/**
 * Whether this machine can have a hardware adapter. On Linux one needs a GPU's device files (a
 * DRM render node, NVIDIA's, or WSL2's); elsewhere there is no such sign, so Dawn is asked.
 */
function mayHaveGpu(): boolean {
  if (process.platform !== 'linux') return true;
  const dri = existsSync('/dev/dri') ? readdirSync('/dev/dri').some((name) => name.startsWith('renderD')) : false;
  return dri || existsSync('/dev/nvidiactl') || existsSync('/dev/dxg'); // WSL2's GPU
}

/**
 * Dawn's notes on limits it lowers for itself, printed as it finds an adapter: true of every
 * adapter, and nothing to act on.
 */
const DAWN_LIMIT_NOTICE = /^Warning: \w+ artificially reduced from \d+ to \d+/;

/** The adapter, with Dawn's start-up notices kept out of stderr (anything else it prints still shows). */
async function requestAdapter(entry: GPU): Promise<GPUAdapter | null> {
  const { value, printed } = await withStderrCaptured(() => entry.requestAdapter({ powerPreference: 'high-performance' }));
  const unexpected = printed.split('\n').filter((line) => line !== '' && !DAWN_LIMIT_NOTICE.test(line));
  if (unexpected.length > 0) process.stderr.write(`${unexpected.join('\n')}\n`);
  return value;
}

/**
 * Opens a device on the first adapter Dawn offers and registers the `webgpu` TensorFlow.js backend
 * on it (not yet selected). Throws, with the reason, when there is no adapter or only a software
 * one that was not allowed.
 */
export async function openWebGpu({ allowSoftware, gpu }: OpenWebGpuOptions): Promise<GpuAdapterInfo> {
  closeWebGpu();
  // Without a GPU only a software adapter could come, which this call would refuse: do not load
  // Dawn at all then (it prints warnings to stderr as it starts).
  if (!gpu && !allowSoftware && !mayHaveGpu()) throw new Error('no GPU on this machine (no /dev/dri/renderD*, /dev/nvidiactl or /dev/dxg), so no hardware WebGPU adapter');
  const entry = await (gpu ?? dawnGpu)();
  const adapter = await requestAdapter(entry);
  if (!adapter) throw new Error('no WebGPU adapter: Dawn found no Vulkan device');
  const info = describeAdapter(adapter);
  if (info.software && !allowSoftware) {
    throw new Error(`the only WebGPU adapter is a software one (${info.description}); name webgpu-software to use it`);
  }
  // The adapter's own limits: the defaults a device gets otherwise are far lower.
  const { maxStorageBufferBindingSize, maxBufferSize, maxComputeWorkgroupStorageSize, maxComputeWorkgroupsPerDimension, maxComputeWorkgroupSizeX, maxComputeInvocationsPerWorkgroup } = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: { maxStorageBufferBindingSize, maxBufferSize, maxComputeWorkgroupStorageSize, maxComputeWorkgroupsPerDimension, maxComputeWorkgroupSizeX, maxComputeInvocationsPerWorkgroup },
  });
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  const state: OpenDevice = { device, restoreNavigator: installNavigator(entry), fault: null };
  // Dawn reports a failed dispatch here and carries on: the results read after it are wrong.
  device.addEventListener('uncapturederror', (event) => {
    state.fault ??= `${event.error.constructor.name}: ${event.error.message.split('\n')[0]}`;
  });
  void device.lost.then((lost) => {
    if (open === state) state.fault ??= `the GPU device was lost (${lost.reason}): ${lost.message}`;
  });
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(device, adapter.info));
  open = state;
  return info;
}

/** Why the open device can no longer be trusted, or null while it is sound (or none is open). */
export function webGpuFault(): string | null {
  return open?.fault ?? null;
}

/** Removes the backend, destroys the device and takes `navigator` down again; a no-op when none is open. */
export function closeWebGpu(): void {
  if (!open) return;
  const { device, restoreNavigator } = open;
  open = undefined;
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  device.destroy();
  restoreNavigator();
}
