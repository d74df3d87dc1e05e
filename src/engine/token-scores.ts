import type { FrozenModel } from './models/frozen-model.js';
import { selectRows } from './select-rows.js';
import { tf } from './tf.js';

/** A token whose log-probability is wanted, predicted by row `state` of a model's predictive states. */
export interface ScoredToken {
  readonly state: number;
  readonly token: number;
}

/**
 * log p(token | what precedes it) for each target: [M], from predictive states [N, d]
 * (FrozenModel.predictiveStates). The output head and its softmax run once per distinct state
 * (every single-token label word of an input is read from the same one), and their rows are then
 * handed to the targets.
 *
 * `normalised: false` leaves out the softmax's log-partition, which is one constant per state:
 * the scores are then the logits, enough wherever only targets of one state are compared with
 * each other (a softmax, an argmax or a cross-entropy over the single-token label words of one
 * input), and they spare a log-softmax over the whole vocabulary for every state.
 */
export function tokenLogProbs(model: FrozenModel, states: tf.Tensor2D, targets: readonly ScoredToken[], normalised = true): tf.Tensor1D {
  return tf.tidy(() => {
    const distinct = [...new Set(targets.map(({ state }) => state))];
    const slot = new Map(distinct.map((state, i) => [state, i]));
    const picked = distinct.length === states.shape[0] && distinct.every((state, i) => state === i) ? states : selectRows(states, distinct); // (U, d)
    const logits = model.logits(picked); // (U, V)
    const logProbs = selectRows(normalised ? tf.logSoftmax(logits) : logits, targets.map(({ state }) => slot.get(state)!)); // (M, V)
    const tokens = tf.cast(tf.oneHot(targets.map(({ token }) => token), model.dims.vocabSize), 'float32'); // (M, V)
    return tf.sum(tf.mul(logProbs, tokens), 1) as tf.Tensor1D;
  });
}

/** Where each row's steps start in predictive states: the prefix sums of (continuation length + 1). */
export function stateOffsets(rows: ReadonlyArray<{ readonly continuation: readonly unknown[] }>): number[] {
  let offset = 0;
  return rows.map(({ continuation }) => {
    const start = offset;
    offset += continuation.length + 1;
    return start;
  });
}
