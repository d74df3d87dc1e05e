/**
 * Classification by label words: the score of a label is log p(its word | prompt, input), summed
 * over the word's tokens; the loss is cross-entropy over the labels' scores only.
 */
import type { FrozenModel } from '../models/frozen-model.js';
import { promptedHiddenStates, type PromptedRow } from '../sequences.js';
import { tf } from '../tf.js';
import { tokenLogProbs, type ScoredToken } from '../token-scores.js';

/** An input to classify, with its own prompt (rows of one batch may differ). */
export interface PromptedInput {
  readonly prompt?: tf.Tensor2D;
  readonly input: readonly number[];
}

/** Label scores [B, K]. */
export function labelScores(model: FrozenModel, items: readonly PromptedInput[], labelTokens: readonly (readonly number[])[]): tf.Tensor2D {
  const K = labelTokens.length;
  // Single-token words are all read at the input's last position: one sequence per input.
  // Longer words need the word's own prefix in front of each of its tokens: one per label.
  const singleToken = labelTokens.every((word) => word.length === 1);
  const rows: PromptedRow[] = singleToken
    ? items.map(({ prompt, input }) => ({ prompt, ids: input }))
    : items.flatMap(({ prompt, input }) => labelTokens.map((word) => ({ prompt, ids: [...input, ...word.slice(0, -1)] })));
  return tf.tidy(() => {
    const { hidden, promptRows } = promptedHiddenStates(model, rows);
    const targets: ScoredToken[] = [];
    const owners: number[] = []; // which (example, label) score each target adds to
    items.forEach(({ input }, b) => {
      labelTokens.forEach((word, k) => {
        const row = singleToken ? b : b * K + k;
        word.forEach((token, j) => {
          targets.push({ row, position: promptRows[row]! + input.length - 1 + j, token });
          owners.push(b * K + k);
        });
      });
    });
    const logProbs = tokenLogProbs(model, hidden, targets); // (M)
    const sums = tf.matMul(tf.cast(tf.oneHot(owners, items.length * K), 'float32'), tf.expandDims(logProbs, 1), true); // (B·K, 1)
    return tf.reshape(sums, [items.length, K]) as tf.Tensor2D;
  });
}

/** Mean cross-entropy over the labels' scores, for one prompt shared by the batch. */
export function classificationLoss(
  model: FrozenModel,
  prompt: tf.Tensor2D,
  inputs: readonly (readonly number[])[],
  labels: readonly number[],
  labelTokens: readonly (readonly number[])[],
): tf.Scalar {
  return tf.tidy(() => {
    const scores = labelScores(model, inputs.map((input) => ({ prompt, input })), labelTokens);
    return tf.losses.softmaxCrossEntropy(tf.oneHot(labels as number[], labelTokens.length), scores) as tf.Scalar;
  });
}
