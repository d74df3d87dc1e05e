/**
 * T5's attention: unscaled scores plus a bias, over padded blocks of rows. Which keys a query sees
 * and the bias it gets are the same in every layer of a stack in one pass, so they are worked out
 * once, as an AttentionPattern, and each layer only brings its queries, keys and values.
 * Shapes: B blocks, Tq queries and Tk keys per block, H heads of hs, W = H·hs.
 */
import { nativeBiasedAttention } from '../native/native-ops.js';
import { tf } from '../tf.js';

/** Added to the scores of keys a query may not see; exp() of it is exactly 0. */
const MASKED = -1e9;

export interface AttentionPatternSpec {
  readonly blocks: number;
  readonly queries: number;
  readonly keys: number;
  /** Keys each block's queries see (its real positions, ≥ 1); the rest of its keys are padding. */
  readonly keyLengths: readonly number[];
  /** Query i sees keys 0 … i at most (queries = keys). */
  readonly causal: boolean;
  /** [H, Tq, Tk], added to every block's scores (the relative-position bias), or none (cross-attention). */
  readonly bias: Float32Array | null;
}

export interface AttentionPattern extends AttentionPatternSpec {
  readonly heads: number;
  readonly headSize: number;
  /** The portable path's (B or 1, H or 1, Tq, Tk) addend of the scores: bias and masks; undefined on the native path. */
  readonly scoresBias: tf.Tensor4D | undefined;
}

/**
 * The pattern for a stack's pass. `native`: the addon's kernel reads lengths and bias as they
 * are; else their tensor is built here, once (call it outside the layers' tidy scopes).
 */
export function attentionPattern(spec: AttentionPatternSpec, heads: number, headSize: number, native: boolean): AttentionPattern {
  return { ...spec, heads, headSize, scoresBias: native ? undefined : scoresBiasOf(spec, heads) };
}

function scoresBiasOf({ blocks, queries: Tq, keys: Tk, keyLengths, causal, bias }: AttentionPatternSpec, H: number): tf.Tensor4D {
  return tf.tidy(() => {
    let sum: tf.Tensor4D = bias ? tf.tensor4d(bias, [1, H, Tq, Tk]) : tf.zeros([1, 1, Tq, Tk]);
    if (keyLengths.some((length) => length < Tk)) {
      const padding = new Float32Array(blocks * Tk);
      keyLengths.forEach((length, b) => padding.fill(MASKED, b * Tk + length, (b + 1) * Tk));
      sum = tf.add(sum, tf.tensor4d(padding, [blocks, 1, 1, Tk]));
    }
    if (causal) {
      const later = new Float32Array(Tq * Tk);
      for (let i = 0; i < Tq; i++) later.fill(MASKED, i * Tk + i + 1, (i + 1) * Tk);
      sum = tf.add(sum, tf.tensor4d(later, [1, 1, Tq, Tk]));
    }
    return sum;
  });
}

/**
 * Context (B·Tq, W) of `pattern`'s attention, from one fused [q | k | v] tensor (B·Tq, 3W) of a
 * self-attention or from queries (B·Tq, W) and [k | v] rows (B·Tk, 2W).
 */
export function attendPattern(operands: { qkv: tf.Tensor2D } | { q: tf.Tensor2D; kv: tf.Tensor2D }, pattern: AttentionPattern): tf.Tensor2D {
  const { blocks: B, queries: Tq, keys: Tk, heads: H, headSize: hs, scoresBias } = pattern;
  if (!scoresBias) {
    const { keyLengths, queries, keys, heads, headSize, causal, bias } = pattern;
    return nativeBiasedAttention(operands, { keyLengths: Int32Array.from(keyLengths), queries, keys, heads, headSize, causal, scale: 1, bias });
  }
  const W = H * hs;
  const [q, kv] = 'qkv' in operands ? (tf.split(operands.qkv, [W, 2 * W], 1) as [tf.Tensor2D, tf.Tensor2D]) : [operands.q, operands.kv];
  const heads = (t: tf.Tensor2D, T: number) => tf.transpose(tf.reshape(t, [B, T, H, hs]), [0, 2, 1, 3]) as tf.Tensor4D; // (B, H, T, hs)
  const [k, v] = tf.split(kv, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
  const probs = tf.softmax(tf.add(tf.matMul(heads(q, Tq), heads(k, Tk), false, true), scoresBias)); // (B, H, Tq, Tk)
  const context = tf.matMul(probs, heads(v, Tk)); // (B, H, Tq, hs)
  return tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [B * Tq, W]) as tf.Tensor2D;
}
