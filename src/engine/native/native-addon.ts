/**
 * The optional OpenBLAS addon (`native/`, built by node-gyp at install where OpenBLAS and a
 * compiler are present). Loading it is attempted once; where it is missing the engine keeps
 * TensorFlow.js's own kernels.
 */
import { createRequire } from 'node:module';

/** Sizes of an attention call over packed sequences; see native/src/kernels.h. */
export type AttentionSizes = [
  lengths: Int32Array, prefix: number, heads: number, kvHeads: number, headSize: number, scale: number, prefixOf: Int32Array | null,
];

/** Sizes of a biased attention call over padded blocks; see native/src/kernels.h. */
export type BiasedAttentionSizes = [
  keyLengths: Int32Array, queries: number, keys: number, heads: number, headSize: number, qStride: number, kvStride: number, causal: boolean, scale: number,
];

export interface NativeAddon {
  /** out[i] = op(a[aIndex[i]]) · op(b[bIndex[i]]) (+ bias on every row), row-major. */
  gemm(
    a: Float32Array, b: Float32Array, out: Float32Array, bias: Float32Array | null, aIndex: Int32Array, bIndex: Int32Array,
    aCount: number, bCount: number, m: number, n: number, k: number, transposeA: boolean, transposeB: boolean,
  ): void;
  /** Floats of the probabilities the forward pass keeps for the gradient. */
  attentionProbsSize(...sizes: AttentionSizes): number;
  attentionForward(qkv: Float32Array, prefixQkv: Float32Array | null, context: Float32Array, probs: Float32Array, ...sizes: AttentionSizes): void;
  attentionBackward(
    dContext: Float32Array, qkv: Float32Array, prefixQkv: Float32Array | null, probs: Float32Array,
    dQkv: Float32Array, dPrefixQkv: Float32Array | null, ...sizes: AttentionSizes
  ): void;
  /** Views of q and kv may start inside a row (a fused [q | k | v] array viewed from its k), as may dQ and dKv. */
  biasedAttentionForward(q: Float32Array, kv: Float32Array, bias: Float32Array | null, context: Float32Array, probs: Float32Array, ...sizes: BiasedAttentionSizes): void;
  biasedAttentionBackward(
    dContext: Float32Array, q: Float32Array, kv: Float32Array, probs: Float32Array, dQ: Float32Array, dKv: Float32Array, ...sizes: BiasedAttentionSizes
  ): void;
  geluForward(x: Float32Array, out: Float32Array): void;
  geluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  layerNormForward(x: Float32Array, gamma: Float32Array, beta: Float32Array, out: Float32Array, epsilon: number): void;
  /** dx only: the scale and shift are frozen. */
  layerNormBackward(x: Float32Array, gamma: Float32Array, dy: Float32Array, dx: Float32Array, epsilon: number): void;
  rmsNormForward(x: Float32Array, gamma: Float32Array, out: Float32Array, epsilon: number): void;
  /** dx only: the scale is frozen. */
  rmsNormBackward(x: Float32Array, gamma: Float32Array, dy: Float32Array, dx: Float32Array, epsilon: number): void;
  /** out (rows, width) = silu(gate) ⊙ up of rows [gate | up] (rows, 2·width). */
  swigluForward(gateUp: Float32Array, out: Float32Array, width: number): void;
  swigluBackward(gateUp: Float32Array, dy: Float32Array, dGateUp: Float32Array, width: number): void;
  /**
   * Rotary embedding (HF rotate_half) of the first `rotated` of each row's `heads` heads, by the
   * angle positions[row] · invFreq[i] for pair i; the other heads are copied. `inverse` turns back.
   */
  rope(x: Float32Array, out: Float32Array, positions: Int32Array, invFreq: Float32Array, heads: number, rotated: number, inverse: boolean): void;
  /** OpenBLAS's thread count; sets it first when given. */
  threads(set?: number): number;
  /** Points fd 2 at a temporary file until stderrCaptureEnd, which returns what was written there. */
  stderrCaptureBegin(): void;
  stderrCaptureEnd(): string;
}

export type AddonLoad = { addon: NativeAddon } | { addon: null; reason: string };

let load: AddonLoad | undefined;

export function loadNativeAddon(): AddonLoad {
  if (!load) {
    try {
      load = { addon: createRequire(import.meta.url)('lopt-native-kernels') as NativeAddon };
    } catch (err) {
      load = { addon: null, reason: `lopt-native-kernels is not built: ${(err as Error).message.split('\n')[0]}` };
    }
  }
  return load;
}
