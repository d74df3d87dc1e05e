/** Text-to-text: the loss covers the target tokens only (generation: generation.ts). */
import type { FrozenModel } from '../models/frozen-model.js';
import { tf } from '../tf.js';
import { stateOffsets, tokenLogProbs } from '../token-scores.js';

/** Mean negative log-likelihood per target token, for one prompt shared by the batch. */
export function targetLoss(
  model: FrozenModel,
  prompt: tf.Tensor2D,
  examples: ReadonlyArray<{ input: readonly number[]; target: readonly number[] }>,
): tf.Scalar {
  const rows = examples.map(({ input, target }) => ({ prompt, input, continuation: target.slice(0, -1) }));
  const offsets = stateOffsets(rows);
  const targets = examples.flatMap(({ target }, row) => target.map((token, j) => ({ state: offsets[row]! + j, token })));
  return tf.tidy(() => tf.neg(tf.mean(tokenLogProbs(model, model.predictiveStates(rows), targets))) as tf.Scalar);
}
