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
 * A language model whose weights never train. Sequences are `[prompt: n rows][tokens]` at
 * positions 0 … n+L−1; the prompt is n×d (shared by every row) or B×n×d (one per row).
 */
export interface FrozenModel {
  readonly modelType: string;
  readonly dims: ModelDimensions;
  /** The token-embedding matrix [V, d]. */
  readonly tokenEmbeddings: tf.Tensor2D;
  /** Final hidden states [B, n+L, d] of the prompted batch. */
  hiddenStates(batch: TokenBatch, prompt?: tf.Tensor2D | tf.Tensor3D): tf.Tensor3D;
  /** Vocabulary logits [N, V] of hidden states [N, d]. */
  logits(hidden: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}
