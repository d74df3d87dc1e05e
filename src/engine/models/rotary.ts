/**
 * Rotary position embeddings (RoPE) in Hugging Face's rotate_half layout: in each head of hs, the
 * pair (x_i, x_{i+hs/2}) turns by the angle position · inv_freq[i], inv_freq[i] = θ^(−2i/hs),
 * rescaled as `rope_scaling` says. Applied to the query and key heads of [q | k | v] rows.
 */
import { nativeRope } from '../native/native-ops.js';
import { tf } from '../tf.js';
import type { RopeScaling } from './llama-config.js';

/** HF's _compute_default_rope_parameters, then its linear or llama3 rescaling. */
export function rotaryFrequencies(headSize: number, theta: number, scaling: RopeScaling): Float32Array {
  const half = headSize / 2;
  const base = Array.from({ length: half }, (_, i) => Math.fround(1 / theta ** ((2 * i) / headSize)));
  if (scaling.kind === 'none') return Float32Array.from(base);
  if (scaling.kind === 'linear') return Float32Array.from(base, (f) => f / scaling.factor);
  // llama3: long wavelengths slow down by `factor`, short ones stay, those between are blended.
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions } = scaling;
  const lowFreqWavelength = originalMaxPositions / lowFreqFactor;
  const highFreqWavelength = originalMaxPositions / highFreqFactor;
  return Float32Array.from(base, (f) => {
    const wavelength = (2 * Math.PI) / f;
    if (wavelength < highFreqWavelength) return f;
    if (wavelength > lowFreqWavelength) return f / factor;
    const smooth = (originalMaxPositions / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

export interface RotaryHeads {
  /** Heads of a row: query, key and value heads together. */
  readonly heads: number;
  /** The first `rotated` of them turn (the query and key heads); the rest (at least one: the value heads) pass. */
  readonly rotated: number;
  readonly headSize: number;
}

/**
 * Rows x (rows, heads·hs) with row r at `positions[r]` → the same rows with their first `rotated`
 * heads turned. `native`: the addon's kernel; else TF.js ops (differentiable through autodiff).
 */
export function applyRotary(x: tf.Tensor2D, positions: Int32Array, invFreq: Float32Array, { heads, rotated, headSize }: RotaryHeads, native: boolean): tf.Tensor2D {
  if (native) return nativeRope(x, { positions, invFreq, heads, rotated });
  const rows = x.shape[0];
  const half = headSize / 2;
  const cos = new Float32Array(rows * half);
  const sin = new Float32Array(rows * half);
  positions.forEach((position, r) => {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(position * invFreq[i]!); // formed in float32, as HF does
      cos[r * half + i] = Math.cos(angle);
      sin[r * half + i] = Math.sin(angle);
    }
  });
  return tf.tidy(() => {
    const [turning, passing] = tf.split(x, [rotated * headSize, (heads - rotated) * headSize], 1) as [tf.Tensor2D, tf.Tensor2D];
    const pairs = tf.reshape(turning, [rows, rotated, 2, half]);
    const [a, b] = tf.split(pairs, 2, 2) as [tf.Tensor4D, tf.Tensor4D]; // each (rows, rotated, 1, half)
    const c = tf.tensor4d(cos, [rows, 1, 1, half]);
    const s = tf.tensor4d(sin, [rows, 1, 1, half]);
    const turned = tf.concat([tf.sub(tf.mul(a, c), tf.mul(b, s)), tf.add(tf.mul(b, c), tf.mul(a, s))], 2);
    return tf.concat([tf.reshape(turned, [rows, rotated * headSize]), passing], 1);
  }) as tf.Tensor2D;
}
