import type { tf } from '../tf.js';

/** The sizes of a frozen model that prompts and tasks need to know. */
export interface ModelDimensions {
  readonly vocabSize: number;
  /** Width d of the embeddings, and so of every soft-prompt row. */
  readonly hiddenSize: number;
  /** Longest sequence, prompt rows included. */
  readonly maxPositions: number;
  readonly numLayers: number;
}

/** Token ids, right-padded to one length, with each row's real length. */
export interface TokenBatch {
  /** int32 [B, L]; entries past a row's length are padding and never attended to. */
  readonly ids: tf.Tensor2D;
  readonly lengths: readonly number[];
}

/**
 * A decoder-only language model whose weights never train. It runs on input embeddings, so a
 * soft prompt can stand in front of the token embeddings: `[prompt rows][tokens]` at positions
 * 0 … T−1, right-padded.
 */
export interface FrozenModel {
  readonly modelType: string;
  readonly dims: ModelDimensions;
  /** Token embeddings [B, L, d] of ids [B, L]. */
  embed(ids: tf.Tensor2D): tf.Tensor3D;
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
  /** Vocabulary logits [N, V] of hidden states [N, d]. */
  logits(hidden: tf.Tensor2D): tf.Tensor2D;
  /**
   * Throws BATCH_TOO_LARGE if a pass over rows of `lengths` positions after `prefixRows` shared
   * ones would not fit the memory its activations go to (`training`: with what a backward pass
   * keeps). Allocates nothing: for checking a run's largest batches before it starts.
   */
  assertPassFits(lengths: readonly number[], prefixRows: number, training: boolean): void;
  dispose(): void;
}
