import { tf } from './tf.js';

/**
 * Rows `indices` of x [N, d], as a matMul with a one-hot matrix: differentiable on every backend
 * (wasm has no gradient for gather).
 */
export function selectRows(x: tf.Tensor2D, indices: readonly number[]): tf.Tensor2D {
  const rows = x.shape[0];
  const selection = new Float32Array(indices.length * rows);
  indices.forEach((index, i) => (selection[i * rows + index] = 1));
  return tf.tidy(() => tf.matMul(tf.tensor2d(selection, [indices.length, rows]), x));
}
