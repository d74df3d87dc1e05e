/**
 * Continuations of prompted inputs, token by token, each row stopping at an end-of-sequence id,
 * after `maxNewTokens`, or where the model has no position left. Rows after cached prefix states
 * of a decoder-only model decode with a key/value cache (CausalLanguageModel.startDecoding): the
 * prompt and input run once, then each new token is one position, so a step costs the same
 * however long the output has grown. Other rows (an encoder-decoder's, or rows given prompt
 * tensors) run their whole sequence again at every step. Tokens are chosen greedily unless
 * sampling options say otherwise (sampling.ts).
 */
import { assertBackendHealthy } from '../backend.js';
import { isCausalLanguageModel, type FrozenModel, type PrefixState } from '../models/frozen-model.js';
import { tokenChooser, type SamplingOptions } from '../sampling.js';
import { prefixGroups } from '../sequences.js';
import { tf } from '../tf.js';
import { stateOffsets } from '../token-scores.js';

export interface GenerationItem {
  readonly prompt?: tf.Tensor2D;
  /** A decoder-only model's cached state after the prompt, in its place. */
  readonly prefix?: PrefixState;
  readonly input: readonly number[];
  /** This row's own bound and sampling (a request's), over the options'; each row draws from its own seeded generator. */
  readonly maxNewTokens?: number;
  readonly sampling?: SamplingOptions;
}

export interface GenerationOptions {
  readonly maxNewTokens: number;
  readonly stopTokenIds: readonly number[];
  readonly sampling?: SamplingOptions;
  /** false: no key/value cache even where one could be used (for comparing the two). @defaultValue true */
  readonly cache?: boolean;
  /** Hears each step's new tokens, row by row (rows that stopped hear nothing more). */
  readonly onTokens?: (tokens: ReadonlyArray<{ readonly row: number; readonly token: number }>) => void;
}

export async function generateTokens(model: FrozenModel, items: readonly GenerationItem[], options: GenerationOptions): Promise<number[][]> {
  const choosers = items.map((item) => tokenChooser(item.sampling ?? options.sampling));
  const choose = (logits: Float32Array, rows: readonly number[]) => {
    const V = model.dims.vocabSize;
    return rows.map((b, i) => choosers[b]!(logits.subarray(i * V, (i + 1) * V)));
  };
  const promptRows = ({ prompt, prefix }: GenerationItem) => prefix?.rows ?? prompt?.shape[0] ?? 0;
  const limits = items.map((item) => Math.min(item.maxNewTokens ?? options.maxNewTokens, model.continuationRoom(promptRows(item), item.input.length)));
  const cached =
    options.cache !== false && isCausalLanguageModel(model) && items.length > 0 && items.every(({ prefix }) => prefix && prefix.rows === items[0]!.prefix!.rows);
  const run = cached ? generateCached : generateUncached;
  return run(model, items, limits, choose, options);
}

/** The next token of each of `rows` (items' indices) from their logits, one row after another. */
type Choose = (logits: Float32Array, rows: readonly number[]) => number[];
type Generator = (model: FrozenModel, items: readonly GenerationItem[], limits: readonly number[], choose: Choose, options: GenerationOptions) => Promise<number[][]>;

/** Takes each active row's chosen token: a stop id ends the row, as does reaching its limit after it. */
function advance(generated: number[][], active: readonly number[], tokens: readonly number[], limits: readonly number[], options: GenerationOptions): number[] {
  const heard: Array<{ row: number; token: number }> = [];
  const still = active.filter((b, i) => {
    const token = tokens[i]!;
    if (options.stopTokenIds.includes(token)) return false;
    generated[b]!.push(token);
    heard.push({ row: b, token });
    return generated[b]!.length < limits[b]!;
  });
  if (heard.length > 0) options.onTokens?.(heard);
  return still;
}

const generateCached: Generator = async (model, items, limits, choose, options) => {
  if (!isCausalLanguageModel(model)) throw new Error('unreachable: cached decoding needs a decoder-only model');
  const generated: number[][] = items.map(() => []);
  let active = items.flatMap((_, b) => (limits[b]! > 0 ? [b] : []));
  if (active.length === 0) return generated;
  const kept = active.map((b) => items[b]!);
  const decoding = model.startDecoding(prefixGroups(kept), kept.map(({ input }) => input), Math.max(...limits));
  try {
    for (;;) {
      const logits = await decoding.logits.data();
      assertBackendHealthy();
      const still = advance(generated, active, choose(logits as Float32Array, active), limits, options);
      if (still.length === 0) return generated;
      // Rows are addressed by their place in the decoding batch, which shrinks as rows stop.
      decoding.feed(still.map((b) => ({ row: active.indexOf(b), token: generated[b]!.at(-1)! })));
      active = still;
    }
  } finally {
    decoding.dispose();
  }
};

const generateUncached: Generator = async (model, items, limits, choose, options) => {
  const generated: number[][] = items.map(() => []);
  let active = items.flatMap((_, b) => (limits[b]! > 0 ? [b] : []));
  while (active.length > 0) {
    const rows = active.map((b) => {
      const { prompt, prefix, input } = items[b]!;
      return { ...(prompt ? { prompt } : {}), ...(prefix ? { prefix } : {}), input, continuation: generated[b]! };
    });
    const offsets = stateOffsets(rows);
    const logits = tf.tidy(() => model.logits(tf.gather(model.predictiveStates(rows), rows.map(({ continuation }, i) => offsets[i]! + continuation.length)) as tf.Tensor2D));
    const data = (await logits.data()) as Float32Array;
    logits.dispose();
    assertBackendHealthy();
    active = advance(generated, active, choose(data, active), limits, options);
  }
  return generated;
};
