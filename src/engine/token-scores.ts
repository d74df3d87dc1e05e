import type { FrozenModel } from './models/frozen-model.js';
import { tf } from './tf.js';

/** A token whose log-probability is wanted, predicted from `position` of row `row`. */
export interface ScoredToken {
  readonly row: number;
  readonly position: number;
  readonly token: number;
}

/**
 * Rows `indices` of x [N, d], as a matMul with a one-hot matrix: differentiable on every backend
 * (wasm has no gradient for gather).
 */
function selectRows(x: tf.Tensor2D, indices: readonly number[]): tf.Tensor2D {
  const rows = x.shape[0];
  const selection = new Float32Array(indices.length * rows);
  indices.forEach((index, i) => (selection[i * rows + index] = 1));
  return tf.tidy(() => tf.matMul(tf.tensor2d(selection, [indices.length, rows]), x));
}

/**
 * log p(token | prefix) for each target: [M], from hidden states [B, T, d]. The output head and
 * its softmax run once per distinct position (every label word of an input is read at the same
 * one), and their rows are then handed to the targets.
 */
export function tokenLogProbs(model: FrozenModel, hidden: tf.Tensor3D, targets: readonly ScoredToken[]): tf.Tensor1D {
  return tf.tidy(() => {
    const [B, T, d] = hidden.shape;
    const flat = targets.map(({ row, position }) => row * T + position);
    const positions = [...new Set(flat)];
    const slot = new Map(positions.map((position, i) => [position, i]));
    const picked = selectRows(tf.reshape(hidden, [B * T, d]), positions); // (U, d)
    const logProbs = selectRows(tf.logSoftmax(model.logits(picked)), flat.map((position) => slot.get(position)!)); // (M, V)
    const tokens = tf.cast(tf.oneHot(targets.map(({ token }) => token), model.dims.vocabSize), 'float32'); // (M, V)
    return tf.sum(tf.mul(logProbs, tokens), 1) as tf.Tensor1D;
  });
}
