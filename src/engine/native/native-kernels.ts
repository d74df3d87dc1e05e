/**
 * Registers the OpenBLAS addon's kernels with TensorFlow.js on the backends whose tensor memory it
 * can read in place (the wasm heap, the cpu backend's arrays): its gemm stands in for matMul
 * (BatchMatMul, _FusedMatMul; cases it does not cover fall through to the backend's kernel, and
 * TF.js builds their gradients from the same forward kernels), and the fused attention (grouped-
 * query too), the biased attention over padded blocks (T5's), GELU, SwiGLU, layer-norm, RMS-norm
 * and rotary kernels, the matMul by a frozen matrix in host memory and the row gather behind
 * native-ops.ts are added.
 */
import { tf } from '../tf.js';
import { planGemm } from './gemm-plan.js';
import { loadNativeAddon, type AttentionSizes, type BiasedAttentionSizes, type NativeAddon } from './native-addon.js';

type TensorInfo = tf.TensorInfo;

/** Float32 tensor memory of one backend, without copies. */
interface TensorMemory {
  allocate(backend: unknown, shape: number[]): TensorInfo;
  /** A view of a tensor's memory. Take views only after every allocation of a kernel call: allocating may move the wasm heap. */
  view(backend: unknown, tensor: TensorInfo): Float32Array;
}

interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(tensor: TensorInfo): Float32Array;
}

interface CpuBackend {
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
  data: { get(dataId: object): { values: Float32Array } };
}

const MEMORY: Record<string, TensorMemory> = {
  wasm: {
    allocate: (backend, shape) => (backend as WasmBackend).makeOutput(shape, 'float32'),
    view: (backend, tensor) => (backend as WasmBackend).typedArrayFromHeap(tensor),
  },
  cpu: {
    allocate: (backend, shape) => (backend as CpuBackend).makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((p, d) => p * d, 1))),
    view: (backend, tensor) => (backend as CpuBackend).data.get(tensor.dataId).values,
  },
};

/** The TF.js backends whose tensor memory the addon can read. */
export const NATIVE_KERNEL_BACKENDS = Object.keys(MEMORY);

export const ATTENTION_KERNEL = 'LoptAttention';
export const ATTENTION_GRAD_KERNEL = 'LoptAttentionGrad';
export const BIASED_ATTENTION_KERNEL = 'LoptBiasedAttention';
export const BIASED_ATTENTION_GRAD_KERNEL = 'LoptBiasedAttentionGrad';
export const GELU_KERNEL = 'LoptGelu';
export const GELU_GRAD_KERNEL = 'LoptGeluGrad';
export const LAYER_NORM_KERNEL = 'LoptLayerNorm';
export const LAYER_NORM_GRAD_KERNEL = 'LoptLayerNormGrad';
export const RMS_NORM_KERNEL = 'LoptRmsNorm';
export const RMS_NORM_GRAD_KERNEL = 'LoptRmsNormGrad';
export const SWIGLU_KERNEL = 'LoptSwiglu';
export const SWIGLU_GRAD_KERNEL = 'LoptSwigluGrad';
export const ROPE_KERNEL = 'LoptRope';
export const HOST_MATMUL_KERNEL = 'LoptHostMatMul';
export const GATHER_ROWS_KERNEL = 'LoptGatherRows';

/**
 * out (m, n) = x (m, k) · B (+ bias on every row), where B is a frozen matrix in host memory, not
 * a tensor (so it takes no room in the wasm heap): stored (k, n), or (n, k) when `transposed`.
 */
export interface HostMatMulAttrs {
  readonly matrix: Float32Array;
  readonly k: number;
  readonly n: number;
  readonly transposed: boolean;
  readonly bias: Float32Array | null;
}

/** Row i of the output is row index[i] of the input, or zeros where index[i] is −1. */
export interface GatherRowsAttrs {
  readonly index: Int32Array;
}

/** Rows of [q | k | v]: `heads` query heads, then `kvHeads` key and `kvHeads` value heads, each `headSize` wide. */
export interface AttentionAttrs {
  readonly lengths: number[];
  /**
   * Which block of `prefix` rows each sequence attends to, where the prefix rows are several
   * blocks one after another (the cached states of several prompts); absent: one block for all.
   */
  readonly prefixOf?: number[];
  readonly heads: number;
  readonly kvHeads: number;
  readonly headSize: number;
  readonly scale: number;
}

/**
 * Attention over `keyLengths.length` padded blocks of `queries` query rows, each over its own
 * `keys` [k | v] rows: block b sees its first keyLengths[b] keys (`causal`: query i at most i + 1),
 * scores scale · q·k + bias[h, i, j] when `bias` ([heads, queries, keys]) is given. The inputs
 * are rows of q (·, heads·headSize) and of [k | v] (·, 2·heads·headSize), or one fused [q | k | v].
 */
export interface BiasedAttentionAttrs {
  readonly keyLengths: Int32Array;
  readonly queries: number;
  readonly keys: number;
  readonly heads: number;
  readonly headSize: number;
  readonly causal: boolean;
  readonly scale: number;
  readonly bias: Float32Array | null;
}

/** One position per row; `rotated` heads of `heads` turn (see NativeAddon.rope). */
export interface RopeAttrs {
  readonly positions: Int32Array;
  readonly invFreq: Float32Array;
  readonly heads: number;
  readonly rotated: number;
  readonly inverse: boolean;
}

interface KernelArgs<Inputs> {
  inputs: Inputs;
  backend: unknown;
  attrs: Record<string, unknown>;
}

/** Tensor memory of the backend a kernel call runs on. */
interface KernelMemory {
  allocate(shape: number[]): TensorInfo;
  /** Take views only after every allocation of the call: allocating may move the wasm heap. */
  view(tensor: TensorInfo): Float32Array;
}

type Kernel<Inputs> = (addon: NativeAddon, memory: KernelMemory, args: KernelArgs<Inputs>) => TensorInfo | TensorInfo[];

function matMulKernel(builtin: tf.KernelFunc): Kernel<{ a: TensorInfo; b: TensorInfo; bias?: TensorInfo | null; preluActivationWeights?: TensorInfo | null }> {
  return (addon, memory, args) => {
    const { inputs: { a, b, bias, preluActivationWeights } } = args;
    const { transposeA, transposeB, activation } = args.attrs as { transposeA: boolean; transposeB: boolean; activation?: string };
    const plain = (activation ?? 'linear') === 'linear' && !preluActivationWeights;
    const float32 = [a, b, bias].every((t) => !t || t.dtype === 'float32');
    const plan = plain && float32 ? planGemm(a.shape, b.shape, transposeA, transposeB, bias?.shape ?? null) : null;
    if (!plan) return builtin(args as unknown as Parameters<tf.KernelFunc>[0]);
    const out = memory.allocate(plan.outShape);
    addon.gemm(
      memory.view(a), memory.view(b), memory.view(out), bias ? memory.view(bias) : null,
      plan.aIndex, plan.bIndex, plan.aCount, plan.bCount, plan.m, plan.n, plan.k, transposeA, transposeB,
    );
    return out;
  };
}

/** Sizes of an attention call over packed [q | k | v] rows (Σ lengths, ·) after the prefix's (one block, or `prefixOf`'s blocks of equal rows). */
function attentionSizes(prefixQkv: TensorInfo | undefined, attrs: Record<string, unknown>): AttentionSizes {
  const { lengths, heads, kvHeads, headSize, scale, prefixOf } = attrs as unknown as AttentionAttrs;
  const blocks = prefixOf ? Math.max(...prefixOf) + 1 : 1;
  const prefixRows = (prefixQkv?.shape[0] ?? 0) / blocks;
  return [Int32Array.from(lengths), prefixRows, heads, kvHeads, headSize, scale, prefixOf ? Int32Array.from(prefixOf) : null];
}

const attentionKernel: Kernel<{ qkv: TensorInfo; prefixQkv?: TensorInfo }> = (addon, memory, { inputs: { qkv, prefixQkv }, attrs }) => {
  const sizes = attentionSizes(prefixQkv, attrs);
  const { heads, headSize } = attrs as unknown as AttentionAttrs;
  const context = memory.allocate([qkv.shape[0]!, heads * headSize]);
  const probs = memory.allocate([addon.attentionProbsSize(...sizes)]);
  addon.attentionForward(memory.view(qkv), prefixQkv ? memory.view(prefixQkv) : null, memory.view(context), memory.view(probs), ...sizes);
  return [context, probs];
};

const attentionGradKernel: Kernel<{ dContext: TensorInfo; qkv: TensorInfo; prefixQkv?: TensorInfo; probs: TensorInfo }> = (addon, memory, args) => {
  const { inputs: { dContext, qkv, prefixQkv, probs }, attrs } = args;
  const dQkv = memory.allocate([...qkv.shape]);
  const dPrefixQkv = prefixQkv ? memory.allocate([...prefixQkv.shape]) : null;
  const view = (t: TensorInfo | null | undefined) => (t ? memory.view(t) : null);
  addon.attentionBackward(
    memory.view(dContext), memory.view(qkv), view(prefixQkv), memory.view(probs), memory.view(dQkv), view(dPrefixQkv),
    ...attentionSizes(prefixQkv, attrs),
  );
  return dPrefixQkv ? [dQkv, dPrefixQkv] : [dQkv];
};

type BiasedAttentionInputs = { qkv: TensorInfo } | { q: TensorInfo; kv: TensorInfo };

/** The views of q and of [k | v] rows, with their row strides: a fused [q | k | v] array is viewed twice, from q and from k. */
function biasedAttentionOperands(
  memory: KernelMemory, inputs: BiasedAttentionInputs, width: number,
): { q: Float32Array; kv: Float32Array; qStride: number; kvStride: number } {
  if ('qkv' in inputs) {
    const fused = memory.view(inputs.qkv);
    const stride = inputs.qkv.shape[1]!;
    return { q: fused, kv: fused.subarray(width), qStride: stride, kvStride: stride };
  }
  return { q: memory.view(inputs.q), kv: memory.view(inputs.kv), qStride: inputs.q.shape[1]!, kvStride: inputs.kv.shape[1]! };
}

function biasedAttentionSizes(attrs: BiasedAttentionAttrs, qStride: number, kvStride: number): BiasedAttentionSizes {
  const { keyLengths, queries, keys, heads, headSize, causal, scale } = attrs;
  return [keyLengths, queries, keys, heads, headSize, qStride, kvStride, causal, scale];
}

const biasedAttentionKernel: Kernel<BiasedAttentionInputs> = (addon, memory, { inputs, attrs }) => {
  const a = attrs as unknown as BiasedAttentionAttrs;
  const width = a.heads * a.headSize;
  const context = memory.allocate([a.keyLengths.length * a.queries, width]);
  const probs = memory.allocate([a.keyLengths.length * a.heads * a.queries * a.keys]);
  const { q, kv, qStride, kvStride } = biasedAttentionOperands(memory, inputs, width);
  addon.biasedAttentionForward(q, kv, a.bias, memory.view(context), memory.view(probs), ...biasedAttentionSizes(a, qStride, kvStride));
  return [context, probs];
};

const biasedAttentionGradKernel: Kernel<BiasedAttentionInputs & { dContext: TensorInfo; probs: TensorInfo }> = (addon, memory, { inputs, attrs }) => {
  const a = attrs as unknown as BiasedAttentionAttrs;
  const width = a.heads * a.headSize;
  const grads: BiasedAttentionInputs = 'qkv' in inputs ? { qkv: memory.allocate([...inputs.qkv.shape]) } : { q: memory.allocate([...inputs.q.shape]), kv: memory.allocate([...inputs.kv.shape]) };
  const { q, kv, qStride, kvStride } = biasedAttentionOperands(memory, inputs, width);
  const d = biasedAttentionOperands(memory, grads, width);
  addon.biasedAttentionBackward(memory.view(inputs.dContext), q, kv, memory.view(inputs.probs), d.q, d.kv, ...biasedAttentionSizes(a, qStride, kvStride));
  return 'qkv' in grads ? [grads.qkv] : [grads.q, grads.kv];
};

const geluKernel: Kernel<{ x: TensorInfo }> = (addon, memory, { inputs: { x } }) => {
  const out = memory.allocate([...x.shape]);
  addon.geluForward(memory.view(x), memory.view(out));
  return out;
};

const geluGradKernel: Kernel<{ x: TensorInfo; dy: TensorInfo }> = (addon, memory, { inputs: { x, dy } }) => {
  const dx = memory.allocate([...x.shape]);
  addon.geluBackward(memory.view(x), memory.view(dy), memory.view(dx));
  return dx;
};

const layerNormKernel: Kernel<{ x: TensorInfo; gamma: TensorInfo; beta: TensorInfo }> = (addon, memory, { inputs: { x, gamma, beta }, attrs }) => {
  const out = memory.allocate([...x.shape]);
  addon.layerNormForward(memory.view(x), memory.view(gamma), memory.view(beta), memory.view(out), attrs.epsilon as number);
  return out;
};

const layerNormGradKernel: Kernel<{ x: TensorInfo; gamma: TensorInfo; dy: TensorInfo }> = (addon, memory, { inputs: { x, gamma, dy }, attrs }) => {
  const dx = memory.allocate([...x.shape]);
  addon.layerNormBackward(memory.view(x), memory.view(gamma), memory.view(dy), memory.view(dx), attrs.epsilon as number);
  return dx;
};

const rmsNormKernel: Kernel<{ x: TensorInfo; gamma: TensorInfo }> = (addon, memory, { inputs: { x, gamma }, attrs }) => {
  const out = memory.allocate([...x.shape]);
  addon.rmsNormForward(memory.view(x), memory.view(gamma), memory.view(out), attrs.epsilon as number);
  return out;
};

const rmsNormGradKernel: Kernel<{ x: TensorInfo; gamma: TensorInfo; dy: TensorInfo }> = (addon, memory, { inputs: { x, gamma, dy }, attrs }) => {
  const dx = memory.allocate([...x.shape]);
  addon.rmsNormBackward(memory.view(x), memory.view(gamma), memory.view(dy), memory.view(dx), attrs.epsilon as number);
  return dx;
};

const swigluKernel: Kernel<{ gateUp: TensorInfo }> = (addon, memory, { inputs: { gateUp } }) => {
  const [rows, width2] = gateUp.shape as [number, number];
  const out = memory.allocate([rows, width2 / 2]);
  addon.swigluForward(memory.view(gateUp), memory.view(out), width2 / 2);
  return out;
};

const swigluGradKernel: Kernel<{ gateUp: TensorInfo; dy: TensorInfo }> = (addon, memory, { inputs: { gateUp, dy } }) => {
  const dGateUp = memory.allocate([...gateUp.shape]);
  addon.swigluBackward(memory.view(gateUp), memory.view(dy), memory.view(dGateUp), gateUp.shape[1]! / 2);
  return dGateUp;
};

const ropeKernel: Kernel<{ x: TensorInfo }> = (addon, memory, { inputs: { x }, attrs }) => {
  const { positions, invFreq, heads, rotated, inverse } = attrs as unknown as RopeAttrs;
  const out = memory.allocate([...x.shape]);
  addon.rope(memory.view(x), memory.view(out), positions, invFreq, heads, rotated, inverse);
  return out;
};

const ONE_MATRIX = Int32Array.of(0);

const hostMatMulKernel: Kernel<{ x: TensorInfo }> = (addon, memory, { inputs: { x }, attrs }) => {
  const { matrix, k, n, transposed, bias } = attrs as unknown as HostMatMulAttrs;
  const m = x.shape[0]!;
  const out = memory.allocate([m, n]);
  addon.gemm(memory.view(x), matrix, memory.view(out), bias, ONE_MATRIX, ONE_MATRIX, 1, 1, m, n, k, false, transposed);
  return out;
};

const gatherRowsKernel: Kernel<{ x: TensorInfo }> = (_addon, memory, { inputs: { x }, attrs }) => {
  const { index } = attrs as unknown as GatherRowsAttrs;
  const width = x.shape[1]!;
  const out = memory.allocate([index.length, width]);
  const [source, target] = [memory.view(x), memory.view(out)];
  index.forEach((row, i) => {
    if (row < 0) target.fill(0, i * width, (i + 1) * width); // the wasm heap is not zeroed
    else target.set(source.subarray(row * width, (row + 1) * width), i * width);
  });
  return out;
};

const ADDED_KERNELS: Record<string, Kernel<never>> = {
  [HOST_MATMUL_KERNEL]: hostMatMulKernel,
  [GATHER_ROWS_KERNEL]: gatherRowsKernel,
  [LAYER_NORM_KERNEL]: layerNormKernel,
  [LAYER_NORM_GRAD_KERNEL]: layerNormGradKernel,
  [ATTENTION_KERNEL]: attentionKernel,
  [ATTENTION_GRAD_KERNEL]: attentionGradKernel,
  [BIASED_ATTENTION_KERNEL]: biasedAttentionKernel,
  [BIASED_ATTENTION_GRAD_KERNEL]: biasedAttentionGradKernel,
  [GELU_KERNEL]: geluKernel,
  [GELU_GRAD_KERNEL]: geluGradKernel,
  [RMS_NORM_KERNEL]: rmsNormKernel,
  [RMS_NORM_GRAD_KERNEL]: rmsNormGradKernel,
  [SWIGLU_KERNEL]: swigluKernel,
  [SWIGLU_GRAD_KERNEL]: swigluGradKernel,
  [ROPE_KERNEL]: ropeKernel,
};
const REPLACED_KERNELS = ['BatchMatMul', '_FusedMatMul'];

/** What `useNativeKernels` changed, to undo: the backends' own matMul kernels, and the kernels added. */
const replaced: tf.KernelConfig[] = [];
const added: Array<{ kernelName: string; backendName: string }> = [];

function register<Inputs>(kernelName: string, backendName: string, addon: NativeAddon, kernel: Kernel<Inputs>, setupFunc?: tf.KernelSetupFunc): void {
  const memory = MEMORY[backendName]!;
  const kernelFunc = (args: unknown) => {
    const { backend } = args as KernelArgs<Inputs>;
    const callMemory = { allocate: (shape: number[]) => memory.allocate(backend, shape), view: (t: TensorInfo) => memory.view(backend, t) };
    return kernel(addon, callMemory, args as KernelArgs<Inputs>);
  };
  tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as tf.KernelFunc, ...(setupFunc ? { setupFunc } : {}) });
}

export type NativeKernelsStatus = { active: true; threads: number } | { active: false; reason: string };

/** Registers the addon's kernels on `backendName`, where the addon is built and can read that backend's memory. */
export function useNativeKernels(backendName: string, threads?: number): NativeKernelsStatus {
  if (!MEMORY[backendName]) return { active: false, reason: `no native kernels for the ${backendName} backend` };
  const load = loadNativeAddon();
  if (!load.addon) return { active: false, reason: load.reason };
  restoreBuiltinKernels();
  for (const kernelName of REPLACED_KERNELS) {
    const builtin = tf.getKernel(kernelName, backendName);
    if (!builtin) continue;
    tf.unregisterKernel(kernelName, backendName);
    register(kernelName, backendName, load.addon, matMulKernel(builtin.kernelFunc), builtin.setupFunc);
    replaced.push(builtin);
  }
  for (const [kernelName, kernel] of Object.entries(ADDED_KERNELS)) {
    register(kernelName, backendName, load.addon, kernel);
    added.push({ kernelName, backendName });
  }
  return { active: true, threads: load.addon.threads(threads) };
}

/** Undoes `useNativeKernels`: the backends' own matMul kernels are back and the added kernels gone. */
export function restoreBuiltinKernels(): void {
  for (const { kernelName, backendName } of added.splice(0)) tf.unregisterKernel(kernelName, backendName);
  for (const builtin of replaced.splice(0)) {
    tf.unregisterKernel(builtin.kernelName, builtin.backendName);
    tf.registerKernel(builtin);
  }
}
