import type { tf } from '../tf.js';

/** The sizes of a frozen model that prompts and tasks need to know. */
export interface ModelDimensions {
  readonly vocabSize: number;
  /** Width d of the embeddings, and so of every soft-prompt row. */
  readonly hiddenSize: number;
  /** Longest sequence, prompt rows included. */
  readonly maxPositions: number;
  /** Transformer layers (an encoder-decoder's encoder layers) and attention heads, as PEFT's adapter config records them. */
  readonly numLayers: number;
  readonly numHeads: number;
}

/**
 * A prompted input and what is fed after it: the tokens that follow the input and whose
 * predictions are wanted (a label word but its last token, a target but its last, what was
 * generated so far). A decoder-only model runs `[prompt][input][continuation]`; an
 * encoder-decoder encodes `[prompt][input]` and decodes `[start][continuation]`.
 */
export interface ContinuedRow {
  /** n×d soft prompt in front of the input; absent for none. */
  readonly prompt?: tf.Tensor2D;
  /**
   * A decoder-only model's state after that prompt (CausalLanguageModel.prefixState), in its
   * place: the prompt's layers are then not run again. Rows of one batch that carry states carry
   * them all, of one length; consecutive rows with the same state share it in one pass.
   */
  readonly prefix?: PrefixState;
  readonly input: readonly number[];
  readonly continuation: readonly number[];
}

/** The sizes of a ContinuedRow, for checking memory before a pass. */
export interface RowShape {
  readonly input: number;
  readonly continuation: number;
}

/** Which stack a soft prompt is put in front of: a decoder-only model's, or an encoder-decoder's encoder (as in PEFT). */
export type PromptStack = 'decoder' | 'encoder';

/**
 * A language model whose weights never train, seen as tasks see it: it predicts the tokens after
 * a prompted input. It runs on input embeddings, so a soft prompt can stand in front of the token
 * embeddings.
 */
export interface FrozenModel {
  readonly modelType: string;
  readonly dims: ModelDimensions;
  readonly promptStack: PromptStack;
  /**
   * Tokens scored after every label word: an encoder-decoder's end-of-sequence, so that a label
   * scores as the decoder's whole output (and a label that begins another cannot win by being
   * shorter); none for a decoder-only model, whose label word goes on into any text.
   */
  readonly wordEndTokens: readonly number[];
  /** Token embeddings [B, L, d] of ids [B, L]: what a prompt row stands beside. */
  embed(ids: tf.Tensor2D): tf.Tensor3D;
  /**
   * The final hidden states that predict what follows each row's input: for row b, steps
   * 0 … c_b (c_b = its continuation's length), step j predicting the token after the input and
   * continuation[0 … j). Every row's steps, one row after another: [Σ_b (c_b + 1), d].
   */
  predictiveStates(rows: readonly ContinuedRow[]): tf.Tensor2D;
  /** The most continuation tokens a row of `promptRows` prompt rows and `inputLength` input tokens has room for. */
  continuationRoom(promptRows: number, inputLength: number): number;
  /** Vocabulary logits [N, V] of hidden states [N, d]. */
  logits(hidden: tf.Tensor2D): tf.Tensor2D;
  /**
   * Throws BATCH_TOO_LARGE if a pass over rows of these shapes with `promptRows` prompt rows
   * each would not fit the memory its activations go to (`training`: with what a backward pass
   * keeps). Allocates nothing: for checking a run's largest batches before it starts.
   */
  assertPassFits(rows: readonly RowShape[], promptRows: number, training: boolean): void;
  dispose(): void;
}

/**
 * What a decoder-only model's layers leave of a prefix (a soft prompt run alone) for the
 * positions after it: each layer's keys and values of its rows. In a causal model a prefix never
 * sees what follows, so this is computed once per prompt and serves any input after it.
 */
export interface PrefixState {
  readonly rows: number;
  /** Per layer, what its positions need of the prefix's rows (`DecoderLayer.apply`'s `shared`). */
  readonly layers: readonly tf.Tensor2D[];
  /** Bytes the tensors hold, for bounding a cache of states. */
  readonly bytes: number;
  dispose(): void;
}

/** Consecutive sequences of a batch that follow one prefix state. */
export interface PrefixGroup {
  readonly state: PrefixState;
  readonly sequences: number;
}

/**
 * A decoder-only model, which also runs whole sequences: `[prompt rows][tokens]` at positions
 * 0 … T−1, right-padded.
 */
export interface CausalLanguageModel extends FrozenModel {
  readonly promptStack: 'decoder';
  /**
   * Final hidden states [B, T, d] of input embeddings [B, T, d]; `lengths[b]` real positions of
   * row b are attended to, the rest is padding (its hidden states are unspecified).
   */
  transform(inputs: tf.Tensor3D, lengths: readonly number[]): tf.Tensor3D;
  /**
   * Final hidden states [B, L, d] of inputs [B, L, d] that follow a prefix [n, d] shared by every
   * row (a soft prompt): in a causal model the prefix never sees the inputs, so it is computed
   * once, not B times. `lengths` count the inputs' real positions (the rest: unspecified).
   */
  transformAfterPrefix(prefix: tf.Tensor2D, inputs: tf.Tensor3D, lengths: readonly number[]): tf.Tensor3D;
  /** The state a prefix [n, d] leaves (see PrefixState): the caller keeps and disposes it. Without a gradient. */
  prefixState(prefix: tf.Tensor2D): PrefixState;
  /**
   * As transformAfterPrefix, after cached prefix states, all of one length: group g's
   * `sequences` consecutive rows of inputs follow its state. Inference only: no gradient reaches
   * the states.
   */
  transformAfterPrefixStates(groups: readonly PrefixGroup[], inputs: tf.Tensor3D, lengths: readonly number[]): tf.Tensor3D;
  /**
   * Starts decoding token ids `inputs` after prefix states (grouped as transformAfterPrefixStates
   * takes them) with a key/value cache per row: the inputs run once, then each fed token is one
   * position. Throws BATCH_TOO_LARGE when the caches of `maxNewTokens` more positions would not fit.
   */
  startDecoding(groups: readonly PrefixGroup[], inputs: readonly (readonly number[])[], maxNewTokens: number): CachedDecoding;
}

/** A batch being decoded with key/value caches (CausalLanguageModel.startDecoding). */
export interface CachedDecoding {
  /** Next-token logits [rows, V] of the rows in the batch (all at first): after its input, then after each token fed. Valid until the next feed. */
  readonly logits: tf.Tensor2D;
  /** Feeds row `row` (of the batch as it is now) its next `token`; rows not fed leave the batch, and the logits are then the fed rows', in this order. */
  feed(next: ReadonlyArray<{ readonly row: number; readonly token: number }>): void;
  dispose(): void;
}

export const isCausalLanguageModel = (model: FrozenModel): model is CausalLanguageModel => model.promptStack === 'decoder';
