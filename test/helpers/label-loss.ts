import type { FrozenModel, TokenBatch } from '../../src/engine/models/frozen-model.js';
import { tf } from '../../src/engine/tf.js';
import { selectRows } from './tensors.js';

/**
 * The fixtures' loss: logits of the label words at each row's last real token, then softmax
 * cross-entropy over those words, averaged over rows.
 */
export function labelWordLoss(
  model: FrozenModel,
  batch: TokenBatch,
  prompt: tf.Tensor2D,
  labelIds: readonly number[],
  labels: readonly number[],
): { labelLogits: tf.Tensor2D; loss: tf.Scalar } {
  return tf.tidy(() => {
    const hidden = model.hiddenStates(batch, prompt);
    const [B, T, d] = hidden.shape;
    const n = prompt.shape[0];
    const last = selectRows(tf.reshape(hidden, [B * T, d]), batch.lengths.map((length, b) => b * T + n + length - 1));
    const vocabulary = tf.cast(tf.oneHot(labelIds as number[], model.dims.vocabSize), 'float32'); // (K, V)
    const labelLogits = tf.matMul<tf.Tensor2D>(model.logits(last), vocabulary, false, true); // (B, K)
    const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(labels as number[], labelIds.length), labelLogits) as tf.Scalar;
    return { labelLogits, loss };
  });
}
