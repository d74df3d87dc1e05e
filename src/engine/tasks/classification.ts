/**
 * Classification by label words: the score of a label is log p(its word | prompt, input), summed
 * over the word's tokens; the loss is cross-entropy over the labels' scores only.
 */
import type { ContinuedRow, FrozenModel, PrefixState } from '../models/frozen-model.js';
import { tf } from '../tf.js';
import { stateOffsets, tokenLogProbs } from '../token-scores.js';

/** An input to score against its own label words, under its own prompt. */
export interface LabelledInput {
  readonly prompt?: tf.Tensor2D;
  /** The model's cached state after the prompt, in its place (ContinuedRow.prefix). */
  readonly prefix?: PrefixState;
  readonly input: readonly number[];
  /** Token ids of each label's word. */
  readonly labelTokens: readonly (readonly number[])[];
}

/** The tokens scored for each label: its word's, then the model's word end (FrozenModel.wordEndTokens). */
export const scoredWords = (model: FrozenModel, labelTokens: readonly (readonly number[])[]) => labelTokens.map((word) => [...word, ...model.wordEndTokens]);

/**
 * Scores of every (input, label) pair, input by input: [Σ_b K_b]. Inputs may differ in prompt and
 * labels. A score is log p(label word | prompt, input) up to a constant per input, so only one
 * input's scores may be compared with each other (a softmax, argmax or cross-entropy over its
 * labels): where every word is one token, all of an input's labels are read from one state, and
 * the vocabulary's log-partition there, the same for each of them, is left out.
 */
export function flatLabelScores(model: FrozenModel, items: readonly LabelledInput[]): tf.Tensor1D {
  const rows: ContinuedRow[] = [];
  const targets: Array<{ row: number; step: number; token: number }> = [];
  const pairOf: number[] = []; // the (input, label) pair each target's log-probability adds to
  let pairs = 0;
  let everyWordOneToken = true;
  for (const { prompt, prefix, input, labelTokens: words } of items) {
    const labelTokens = scoredWords(model, words);
    // Single-token words are all read from the step right after the input: one row per input.
    // Longer words need the word's own prefix before each of its tokens: one row per label.
    const singleToken = labelTokens.every((word) => word.length === 1);
    everyWordOneToken &&= singleToken;
    const firstRow = rows.length;
    const row = (continuation: readonly number[]): ContinuedRow => ({ ...(prompt ? { prompt } : {}), ...(prefix ? { prefix } : {}), input, continuation });
    if (singleToken) rows.push(row([]));
    labelTokens.forEach((word, k) => {
      if (!singleToken) rows.push(row(word.slice(0, -1)));
      word.forEach((token, j) => {
        targets.push({ row: singleToken ? firstRow : firstRow + k, step: j, token });
        pairOf.push(pairs);
      });
      pairs += 1;
    });
  }
  return tf.tidy(() => {
    const offsets = stateOffsets(rows);
    const scoredTokens = targets.map(({ row, step, token }) => ({ state: offsets[row]! + step, token }));
    const logProbs = tokenLogProbs(model, model.predictiveStates(rows), scoredTokens, !everyWordOneToken); // (M)
    const sums = tf.matMul(tf.cast(tf.oneHot(pairOf, pairs), 'float32'), tf.expandDims(logProbs, 1), true); // (pairs, 1)
    return tf.reshape(sums, [pairs]) as tf.Tensor1D;
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
    const scores = tf.reshape(flatLabelScores(model, inputs.map((input) => ({ prompt, input, labelTokens }))), [inputs.length, labelTokens.length]);
    return tf.losses.softmaxCrossEntropy(tf.oneHot(labels as number[], labelTokens.length), scores) as tf.Scalar;
  });
}
