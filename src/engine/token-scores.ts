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
  return tf.tidy(() => tf.matMul(tf.cast(tf.oneHot(indices as number[], x.shape[0]), 'float32'), x));
}

/** log p(token | prefix) for each target: [M], from hidden states [B, T, d]. */
export function tokenLogProbs(model: FrozenModel, hidden: tf.Tensor3D, targets: readonly ScoredToken[]): tf.Tensor1D {
  return tf.tidy(() => {
    const [B, T, d] = hidden.shape;
    const picked = selectRows(tf.reshape(hidden, [B * T, d]), targets.map(({ row, position }) => row * T + position)); // (M, d)
    const logProbs = tf.logSoftmax(model.logits(picked)); // (M, V)
    const tokens = tf.cast(tf.oneHot(targets.map(({ token }) => token), model.dims.vocabSize), 'float32'); // (M, V)
    return tf.sum(tf.mul(logProbs, tokens), 1) as tf.Tensor1D;
  });
}
