/** Text-to-text: the loss covers the target tokens only; generation is greedy. */
import { assertBackendHealthy } from '../backend.js';
import type { FrozenModel, PrefixState } from '../models/frozen-model.js';
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

/** Greedy continuations of each input, each stopping at any of `stopTokenIds` (end-of-sequence ids) or after `maxNewTokens`. */
export async function generateGreedy(
  model: FrozenModel,
  items: ReadonlyArray<{ prompt?: tf.Tensor2D; prefix?: PrefixState; input: readonly number[] }>,
  options: { maxNewTokens: number; stopTokenIds: readonly number[] },
): Promise<number[][]> {
  const generated: number[][] = items.map(() => []);
  const done = items.map(() => false);
  const promptRows = ({ prompt, prefix }: (typeof items)[number]) => prefix?.rows ?? prompt?.shape[0] ?? 0;
  const room = (b: number) => model.continuationRoom(promptRows(items[b]!), items[b]!.input.length);
  for (let step = 0; step < options.maxNewTokens && done.includes(false); step++) {
    const active = items.flatMap((item, b) => (done[b] || generated[b]!.length >= room(b) ? [] : [{ b, item }]));
    if (active.length === 0) break;
    const rows = active.map(({ b, item }) => ({ ...(item.prompt ? { prompt: item.prompt } : {}), ...(item.prefix ? { prefix: item.prefix } : {}), input: item.input, continuation: generated[b]! }));
    const offsets = stateOffsets(rows);
    const next = tf.tidy(() => {
      const last = tf.gather(model.predictiveStates(rows), rows.map(({ continuation }, i) => offsets[i]! + continuation.length));
      return tf.argMax(model.logits(last as tf.Tensor2D), 1);
    });
    const tokens = await next.data();
    next.dispose();
    assertBackendHealthy();
    active.forEach(({ b }, i) => {
      const token = tokens[i]!;
      if (options.stopTokenIds.includes(token)) done[b] = true;
      else generated[b]!.push(token);
    });
  }
  return generated;
}
