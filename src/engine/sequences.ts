/**
 * Builds the model input of a prompted batch: row b is `[prompt_b: n_b rows][tokens_b]`, right-
 * padded with zeros. Rows may carry different prompts, of different lengths, or none.
 */
import { EngineError } from './engine-error.js';
import type { CausalLanguageModel, ContinuedRow, FrozenModel, PrefixGroup, PrefixState } from './models/frozen-model.js';
import { selectRows } from './select-rows.js';
import { tf } from './tf.js';

export interface PromptedRow {
  /** n×d soft prompt in front of the tokens; absent for none. */
  readonly prompt?: tf.Tensor2D;
  /** The model's cached state after that prompt, in its place (see ContinuedRow.prefix). */
  readonly prefix?: PrefixState;
  readonly ids: readonly number[];
}

/** Where each row's parts lie: n_b prompt rows, then tokens, to n_b + L_b real positions. */
export interface SequenceLayout {
  readonly promptRows: readonly number[];
  readonly lengths: readonly number[];
  /** Padded length of the batch. */
  readonly T: number;
}

function checkIds(rows: readonly PromptedRow[], vocabSize: number): void {
  rows.forEach(({ ids }, b) => {
    if (ids.length === 0) throw new EngineError('BAD_ARGUMENT', `row ${b} has no tokens`);
    const bad = ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
    if (bad >= 0) throw new EngineError('BAD_ARGUMENT', `token id ${ids[bad]} (row ${b}, position ${bad}) is outside the vocabulary of ${vocabSize}`);
  });
}

export function sequenceLayout(model: FrozenModel, rows: readonly PromptedRow[]): SequenceLayout {
  if (rows.length === 0) throw new EngineError('BAD_ARGUMENT', 'a batch needs at least one row');
  const { vocabSize, hiddenSize: d, maxPositions } = model.dims;
  checkIds(rows, vocabSize);
  const badWidth = rows.find(({ prompt }) => prompt && prompt.shape[1] !== d);
  if (badWidth) throw new EngineError('BAD_ARGUMENT', `prompt rows have width ${badWidth.prompt!.shape[1]}, the model's is ${d}`);
  const promptRows = rows.map(({ prompt }) => prompt?.shape[0] ?? 0);
  const lengths = rows.map(({ ids }, b) => promptRows[b]! + ids.length);
  const T = Math.max(...lengths);
  if (T > maxPositions) throw new EngineError('SEQUENCE_TOO_LONG', `prompt rows + tokens = ${T} exceed the model's ${maxPositions} positions`);
  return { promptRows, lengths, T };
}

/**
 * Input embeddings [B, T, d] laid out as `layout` says, padding zero. The token embeddings are
 * frozen, so one lookup puts every row's tokens at their positions; only the prompts, which
 * train, are placed by differentiable ops. (Slicing one tokens tensor per row would cost memory
 * quadratic in the batch under a gradient tape: each slice keeps its whole input for the backward
 * pass, and the wasm backend copies what it keeps.)
 */
export function embedSequences(model: FrozenModel, rows: readonly PromptedRow[], { promptRows, T }: SequenceLayout): tf.Tensor3D {
  const d = model.dims.hiddenSize;
  const B = rows.length;
  const ids = new Int32Array(B * T); // id 0 where a prompt row or padding goes: masked to zero below
  const isToken = new Float32Array(B * T);
  rows.forEach(({ ids: tokens }, b) => {
    tokens.forEach((id, j) => {
      ids[b * T + promptRows[b]! + j] = id;
      isToken[b * T + promptRows[b]! + j] = 1;
    });
  });
  return tf.tidy(() => {
    const tokens = tf.mul(model.embed(tf.tensor2d(ids, [B, T], 'int32')), tf.tensor3d(isToken, [B, T, 1])) as tf.Tensor3D;
    if (rows.every(({ prompt }) => !prompt)) return tokens;
    const prompts = rows.map(({ prompt }, b) => {
      if (!prompt) return tf.zeros([T, d]) as tf.Tensor2D;
      return promptRows[b]! < T ? tf.concat([prompt, tf.zeros([T - promptRows[b]!, d])], 0) : prompt;
    });
    return tf.add(tokens, tf.stack(prompts)) as tf.Tensor3D;
  });
}

/** Runs of consecutive rows with the same prefix state (every row has one). */
export function prefixGroups(rows: ReadonlyArray<{ readonly prefix?: PrefixState }>): PrefixGroup[] {
  const groups: Array<{ state: PrefixState; sequences: number }> = [];
  for (const { prefix } of rows) {
    const last = groups.at(-1);
    if (last && last.state === prefix) last.sequences += 1;
    else groups.push({ state: prefix!, sequences: 1 });
  }
  return groups;
}

/**
 * Final hidden states of a prompted batch, with where row b's tokens start in them. When every
 * row has the same prompt, the prompt is run once for the batch, and when every row has a cached
 * prefix state it is not run at all: only the token positions come back then ([B, L, d], tokens
 * from 0); otherwise every position ([B, T, d], tokens from n_b).
 */
export function promptedHiddenStates(
  model: CausalLanguageModel,
  rows: readonly PromptedRow[],
): { hidden: tf.Tensor3D; tokenStart: readonly number[]; lengths: readonly number[] } {
  const cached = rows.length > 0 && rows.every(({ prefix }) => prefix);
  const layout = cached ? undefined : sequenceLayout(model, rows); // checks the prompts' widths and lengths
  const shared = rows[0]?.prompt;
  if (cached || (shared && rows.every((row) => row.prompt === shared))) {
    const tokensOnly = rows.map(({ ids }) => ({ ids }));
    const tokens = sequenceLayout(model, tokensOnly);
    const hidden = tf.tidy(() => {
      const inputs = embedSequences(model, tokensOnly, tokens);
      return cached ? model.transformAfterPrefixStates(prefixGroups(rows), inputs, tokens.lengths) : model.transformAfterPrefix(shared!, inputs, tokens.lengths);
    });
    return { hidden, tokenStart: tokens.lengths.map(() => 0), lengths: tokens.lengths };
  }
  const hidden = tf.tidy(() => model.transform(embedSequences(model, rows, layout!), layout!.lengths));
  return { hidden, tokenStart: layout!.promptRows, lengths: layout!.lengths };
}

/**
 * A decoder-only model's predictive states (FrozenModel.predictiveStates): each row runs as
 * `[prompt][input][continuation]`, and step j of row b is the hidden state at its input's last
 * token + j.
 */
export function causalPredictiveStates(model: CausalLanguageModel, rows: readonly ContinuedRow[]): tf.Tensor2D {
  return tf.tidy(() => {
    const { hidden, tokenStart } = promptedHiddenStates(model, rows.map(({ prompt, prefix, input, continuation }) => ({ prompt, prefix, ids: [...input, ...continuation] })));
    const [B, T, d] = hidden.shape;
    const steps = rows.flatMap(({ input, continuation }, b) =>
      Array.from({ length: continuation.length + 1 }, (_, j) => b * T + tokenStart[b]! + input.length - 1 + j),
    );
    return selectRows(tf.reshape(hidden, [B * T, d]) as tf.Tensor2D, steps);
  });
}
