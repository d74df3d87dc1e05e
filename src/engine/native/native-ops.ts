/**
 * Differentiable ops on the addon's fused kernels (registered by native-kernels.ts). Use them only
 * while `activeBackend().nativeKernels.active`; models choose between these and the portable
 * compositions of TF.js ops when they are loaded.
 */
import { tf } from '../tf.js';
import { EngineError } from '../engine-error.js';
import {
  ATTENTION_GRAD_KERNEL, ATTENTION_KERNEL, BIASED_ATTENTION_GRAD_KERNEL, BIASED_ATTENTION_KERNEL, GATHER_ROWS_KERNEL, GELU_GRAD_KERNEL, GELU_KERNEL, HOST_MATMUL_KERNEL, LAYER_NORM_GRAD_KERNEL,
  LAYER_NORM_KERNEL, RMS_NORM_GRAD_KERNEL, RMS_NORM_KERNEL, ROPE_KERNEL, SWIGLU_GRAD_KERNEL, SWIGLU_KERNEL, type AttentionAttrs,
  type BiasedAttentionAttrs,
  type HostMatMulAttrs,
} from './native-kernels.js';

type SaveFunc = (tensors: tf.Tensor[]) => void;

const run = (kernel: string, inputs: tf.NamedTensorMap, attrs: object = {}) =>
  tf.engine().runKernel(kernel, inputs, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];

/** GELU, tanh approximation: the same function as activations.ts's gelu, in one kernel each way. */
export const nativeGelu = tf.customGrad((x, save) => {
  (save as SaveFunc)([x as tf.Tensor]); // the gradient runs after the caller's tidy has disposed x
  return {
    value: run(GELU_KERNEL, { x: x as tf.Tensor }) as tf.Tensor,
    gradFunc: (dy, [saved]) => run(GELU_GRAD_KERNEL, { x: saved!, dy: dy as tf.Tensor }) as tf.Tensor,
  };
}) as unknown as <T extends tf.Tensor>(x: T) => T;

/** silu(gate) ⊙ up of rows [gate | up] (rows, 2·width) → (rows, width), in one kernel each way. */
export const nativeSwiglu = tf.customGrad((gateUp, save) => {
  (save as SaveFunc)([gateUp as tf.Tensor]);
  return {
    value: run(SWIGLU_KERNEL, { gateUp: gateUp as tf.Tensor }) as tf.Tensor,
    gradFunc: (dy, [saved]) => run(SWIGLU_GRAD_KERNEL, { gateUp: saved!, dy: dy as tf.Tensor }) as tf.Tensor,
  };
}) as unknown as (gateUp: tf.Tensor2D) => tf.Tensor2D;

/**
 * Causal self-attention of `lengths.length` sequences packed one after another without padding,
 * from their [q | k | v] rows (Σ lengths, (heads + 2·kvHeads)·headSize), after the keys and
 * values of the shared prefix's rows (P, same width) when given: context (Σ lengths, heads·headSize).
 */
export function nativeAttention(qkv: tf.Tensor2D, prefixQkv: tf.Tensor2D | null, attrs: AttentionAttrs): tf.Tensor2D {
  const inputs = (x: tf.Tensor, p?: tf.Tensor): tf.NamedTensorMap => (p ? { qkv: x, prefixQkv: p } : { qkv: x });
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as SaveFunc;
    const [x, p] = args as [tf.Tensor, tf.Tensor | undefined];
    const [context, probs] = run(ATTENTION_KERNEL, inputs(x, p), attrs) as [tf.Tensor, tf.Tensor];
    save(p ? [probs, x, p] : [probs, x]); // the gradient runs after the caller's tidy has disposed them
    return {
      value: context,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], [savedProbs, savedX, savedP]: tf.Tensor[]) =>
        run(ATTENTION_GRAD_KERNEL, { dContext: dy as tf.Tensor, ...inputs(savedX!, savedP), probs: savedProbs! }, attrs) as tf.Tensor[],
    };
  });
  return (prefixQkv ? op(qkv, prefixQkv) : op(qkv)) as tf.Tensor2D;
}

/**
 * Attention over padded blocks with an additive bias (see BiasedAttentionAttrs), from one fused
 * [q | k | v] tensor (self-attention) or from q and [k | v] (cross-attention): context
 * (blocks·queries, heads·headSize). The bias and the lengths are constants: no gradient.
 */
export function nativeBiasedAttention(operands: { qkv: tf.Tensor2D } | { q: tf.Tensor2D; kv: tf.Tensor2D }, attrs: BiasedAttentionAttrs): tf.Tensor2D {
  const fused = 'qkv' in operands;
  const inputs = (xs: tf.Tensor[]): tf.NamedTensorMap => (fused ? { qkv: xs[0]! } : { q: xs[0]!, kv: xs[1]! });
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as SaveFunc;
    const xs = args as tf.Tensor[];
    const [context, probs] = run(BIASED_ATTENTION_KERNEL, inputs(xs), attrs) as [tf.Tensor, tf.Tensor];
    save([probs, ...xs]); // the gradient runs after the caller's tidy has disposed them
    return {
      value: context,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], [savedProbs, ...savedXs]: tf.Tensor[]) =>
        run(BIASED_ATTENTION_GRAD_KERNEL, { dContext: dy as tf.Tensor, probs: savedProbs!, ...inputs(savedXs) }, attrs) as tf.Tensor[],
    };
  });
  return (fused ? op(operands.qkv) : op(operands.q, operands.kv)) as tf.Tensor2D;
}

/** Layer normalisation over the last dimension with a frozen scale γ and shift β: differentiable in x only. */
export function nativeLayerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): tf.Tensor2D {
  const op = tf.customGrad((input, save) => {
    (save as SaveFunc)([input as tf.Tensor]);
    return {
      value: run(LAYER_NORM_KERNEL, { x: input as tf.Tensor, gamma, beta }, { epsilon }) as tf.Tensor,
      gradFunc: (dy, [saved]) => run(LAYER_NORM_GRAD_KERNEL, { x: saved!, gamma, dy: dy as tf.Tensor }, { epsilon }) as tf.Tensor,
    };
  });
  return op(x) as tf.Tensor2D;
}

/** RMS normalisation over the last dimension with a frozen scale γ: differentiable in x only. */
export function nativeRmsNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, epsilon: number): tf.Tensor2D {
  const op = tf.customGrad((input, save) => {
    (save as SaveFunc)([input as tf.Tensor]);
    return {
      value: run(RMS_NORM_KERNEL, { x: input as tf.Tensor, gamma }, { epsilon }) as tf.Tensor,
      gradFunc: (dy, [saved]) => run(RMS_NORM_GRAD_KERNEL, { x: saved!, gamma, dy: dy as tf.Tensor }, { epsilon }) as tf.Tensor,
    };
  });
  return op(x) as tf.Tensor2D;
}

/**
 * Rotary position embedding of rows x (rows, heads·headSize), row r at `positions[r]`: the first
 * `rotated` heads turn by positions[r]·invFreq (HF rotate_half pairs), the rest pass. The turn is
 * orthogonal, so its gradient is the turn back; nothing is kept for it.
 */
export function nativeRope(x: tf.Tensor2D, attrs: { positions: Int32Array; invFreq: Float32Array; heads: number; rotated: number }): tf.Tensor2D {
  const op = tf.customGrad((input) => ({
    value: run(ROPE_KERNEL, { x: input as tf.Tensor }, { ...attrs, inverse: false }) as tf.Tensor,
    gradFunc: (dy) => run(ROPE_KERNEL, { x: dy as tf.Tensor }, { ...attrs, inverse: true }) as tf.Tensor,
  }));
  return op(x) as tf.Tensor2D;
}

/** A frozen matrix in host memory: `data` row-major, [in, out] or, `transposed`, [out, in]. */
export interface HostMatrix {
  readonly data: Float32Array;
  readonly inSize: number;
  readonly outSize: number;
  readonly transposed: boolean;
}

/**
 * x (m, in) → x·W (+ bias) for a frozen W that stays in host memory: the gemm reads it in place,
 * so it is never copied into the backend (nor transposed: dx = dy·Wᵀ reads the same floats).
 */
export function hostLinear({ data, inSize, outSize, transposed }: HostMatrix, bias: Float32Array | null): (x: tf.Tensor2D) => tf.Tensor2D {
  const forward: HostMatMulAttrs = { matrix: data, k: inSize, n: outSize, transposed, bias };
  const backward: HostMatMulAttrs = { matrix: data, k: outSize, n: inSize, transposed: !transposed, bias: null };
  const op = tf.customGrad((x) => ({
    value: run(HOST_MATMUL_KERNEL, { x: x as tf.Tensor }, forward) as tf.Tensor,
    gradFunc: (dy) => run(HOST_MATMUL_KERNEL, { x: dy as tf.Tensor }, backward) as tf.Tensor,
  }));
  return (x) => {
    if (x.shape[1] !== inSize) throw new EngineError('BAD_ARGUMENT', `a linear layer of ${inSize} inputs got rows of ${x.shape[1]}`);
    return op(x) as tf.Tensor2D;
  };
}

/**
 * Rows of x (rows, w) picked by `index` (−1: a row of zeros). `inverse` must undo it (row
 * index[i] of x goes to row i, so inverse[index[i]] = i, and −1 where x has rows not picked):
 * the gradient is the gather by `inverse`. Packs and unpacks padded batches in O(rows · w).
 */
export function gatherRows(x: tf.Tensor2D, index: Int32Array, inverse: Int32Array): tf.Tensor2D {
  const op = tf.customGrad((input) => ({
    value: run(GATHER_ROWS_KERNEL, { x: input as tf.Tensor }, { index }) as tf.Tensor,
    gradFunc: (dy) => run(GATHER_ROWS_KERNEL, { x: dy as tf.Tensor }, { index: inverse }) as tf.Tensor,
  }));
  return op(x) as tf.Tensor2D;
}
