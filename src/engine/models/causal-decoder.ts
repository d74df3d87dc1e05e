/**
 * The part every decoder-only family shares: a FrozenModel made of a family's layers. It lays out
 * batches (sequence-batch.ts), runs a shared prefix (the soft prompt) once per batch and lets
 * every row attend to its layers' outputs for it, checks inputs and the memory a pass needs, and
 * applies the output head. A family supplies its layers, what goes in before the first (GPT-2's
 * learned positions) and after the last (the final norm), and its sizes. Shapes: B batch, T
 * positions, P shared prefix rows, d width.
 */
import { EngineError } from '../engine-error.js';
import { isRecordingGradients } from '../gradient-tape.js';
import { assertActivationsFit } from '../memory-budget.js';
import { assertTensorFits } from '../tensor-limit.js';
import { tf } from '../tf.js';
import type { FrozenLinear } from './frozen-linear.js';
import { causalPredictiveStates } from '../sequences.js';
import type { CausalLanguageModel, ContinuedRow, ModelDimensions, PrefixGroup, PrefixState, RowShape } from './frozen-model.js';
import type { SequenceBatch, SequenceBatcher } from './sequence-batch.js';
import type { FrozenEmbedding, WeightPlacement } from './weight-placement.js';

/**
 * a + b of one shape, as a residual connection: its gradient passes dy to both, so unlike tf.add
 * (which keeps both inputs for their shapes) it keeps nothing for the backward pass.
 */
export const residual = tf.customGrad((a, b) => ({
  value: tf.add(a as tf.Tensor, b as tf.Tensor),
  gradFunc: (dy) => [dy as tf.Tensor, dy as tf.Tensor],
})) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

export interface DecoderLayer {
  /**
   * x (rows, d) of `batch` → out (rows, d). `past`: this layer's `shared` output for P earlier
   * positions common to every sequence, attended to before each sequence's own; `shared` is what
   * positions that follow these rows need of them (their keys and values).
   */
  apply(x: tf.Tensor2D, batch: SequenceBatch, past?: tf.Tensor2D): { out: tf.Tensor2D; shared: tf.Tensor2D };
}

/** Floats a layer holds per row of the batch (packed or padded): see CausalDecoder.checkActivations. */
export interface LayerFootprint {
  /** What a gradient tape keeps of one layer for the backward pass. */
  readonly keptPerRow: number;
  /** What one layer holds while it runs. */
  readonly runningPerRow: number;
  /** Attention probabilities held per (query, key) pair and head: 1 (the addon's kernel), more for TF.js compositions. */
  readonly probsCopies: number;
}

export interface DecoderParts {
  readonly modelType: string;
  readonly dims: ModelDimensions;
  readonly embedding: FrozenEmbedding;
  readonly head: FrozenLinear;
  readonly layers: readonly DecoderLayer[];
  /** Input embeddings (B, T, d) at positions offset … offset+T−1 → the first layer's rows (B·T, d). */
  inputRows(inputs: tf.Tensor3D, offset: number): tf.Tensor2D;
  /** The last layer's rows → the final hidden states' rows. */
  finalNorm(x: tf.Tensor2D): tf.Tensor2D;
  readonly batcher: SequenceBatcher;
  /** Whether `batcher` packs rows (the addon's path) or pads them. */
  readonly packed: boolean;
  /** For the checks of single tensors: query heads, [q | k | v] row width, the MLP's widest activation. */
  readonly sizes: { readonly heads: number; readonly qkvWidth: number; readonly mlpWidth: number };
  readonly footprint: LayerFootprint;
  /** Where the weights live; the model disposes it. */
  readonly placement: WeightPlacement;
}

export class CausalDecoder implements CausalLanguageModel {
  readonly promptStack = 'decoder' as const;
  readonly wordEndTokens = [];
  readonly modelType: string;
  readonly dims: ModelDimensions;

  constructor(private readonly parts: DecoderParts) {
    this.modelType = parts.modelType;
    this.dims = parts.dims;
  }

  embed(ids: tf.Tensor2D): tf.Tensor3D {
    return this.parts.embedding.lookup(ids) as tf.Tensor3D;
  }

  predictiveStates(rows: readonly ContinuedRow[]): tf.Tensor2D {
    return causalPredictiveStates(this, rows);
  }

  continuationRoom(promptRows: number, inputLength: number): number {
    return this.dims.maxPositions - promptRows - inputLength;
  }

  transform(inputs: tf.Tensor3D, lengths: readonly number[]): tf.Tensor3D {
    const [B, T, d] = inputs.shape;
    this.checkInput(inputs, lengths, 0);
    return tf.tidy(() => {
      const batch = this.parts.batcher(lengths, T, 0);
      let x = batch.pack(this.parts.inputRows(inputs, 0));
      for (const layer of this.parts.layers) x = layer.apply(x, batch).out;
      return this.finalHidden(x, batch, [B, T, d]);
    });
  }

  transformAfterPrefix(prefix: tf.Tensor2D, inputs: tf.Tensor3D, lengths: readonly number[]): tf.Tensor3D {
    const n = prefix.shape[0];
    this.checkInput(inputs, lengths, n);
    // The prefix sees only itself (causal), so one pass over it serves every row.
    return tf.tidy(() => this.afterPrefixes([{ layers: this.prefixLayers(prefix), sequences: inputs.shape[0] }], n, inputs, lengths));
  }

  prefixState(prefix: tf.Tensor2D): PrefixState {
    const [n, width] = prefix.shape;
    if (width !== this.dims.hiddenSize) throw new EngineError('BAD_ARGUMENT', `prefix rows have width ${width}, the model's is ${this.dims.hiddenSize}`);
    if (n < 1 || n >= this.dims.maxPositions) throw new EngineError('SEQUENCE_TOO_LONG', `a prefix of ${n} rows leaves no room in the model's ${this.dims.maxPositions} positions`);
    const layers = tf.tidy(() => this.prefixLayers(prefix));
    const bytes = layers.reduce((sum, t) => sum + 4 * t.size, 0);
    return { rows: n, layers, bytes, dispose: () => tf.dispose(layers) };
  }

  transformAfterPrefixStates(groups: readonly PrefixGroup[], inputs: tf.Tensor3D, lengths: readonly number[]): tf.Tensor3D {
    const n = groups[0]?.state.rows ?? 0;
    const bad = (message: string) => new EngineError('BAD_ARGUMENT', message);
    if (groups.length === 0 || groups.some(({ state }) => state.rows !== n)) throw bad(`prefix states must all have the same rows, got [${groups.map(({ state }) => state.rows).join(', ')}]`);
    if (groups.some(({ state }) => state.layers.length !== this.parts.layers.length)) throw bad("a prefix state is not of this model's layers");
    const sequences = groups.reduce((sum, { sequences }) => sum + sequences, 0);
    if (sequences !== inputs.shape[0]) throw bad(`the prefix groups hold ${sequences} sequences, the batch has ${inputs.shape[0]}`);
    this.checkInput(inputs, lengths, n);
    return tf.tidy(() => this.afterPrefixes(groups.map(({ state, sequences }) => ({ layers: state.layers, sequences })), n, inputs, lengths));
  }

  /** Each layer's `shared` rows of a prefix [n, d] run alone. */
  private prefixLayers(prefix: tf.Tensor2D): tf.Tensor2D[] {
    const n = prefix.shape[0];
    const batch = this.parts.batcher([n], n, 0);
    let p = this.parts.inputRows(tf.expandDims(prefix, 0) as tf.Tensor3D, 0); // (n, d)
    return this.parts.layers.map((layer) => {
      const { out, shared } = layer.apply(p, batch);
      p = out;
      return shared;
    });
  }

  /** Inputs [B, L, d] after prefixes of n rows: group g's `sequences` consecutive rows attend to its layers' rows. */
  private afterPrefixes(groups: ReadonlyArray<{ layers: readonly tf.Tensor2D[]; sequences: number }>, n: number, inputs: tf.Tensor3D, lengths: readonly number[]): tf.Tensor3D {
    const [B, L, d] = inputs.shape;
    const batch = this.parts.batcher(lengths, L, n, groups.map(({ sequences }) => sequences));
    let x = batch.pack(this.parts.inputRows(inputs, n));
    this.parts.layers.forEach((layer, i) => {
      const past = groups.length === 1 ? groups[0]!.layers[i]! : tf.concat(groups.map(({ layers }) => layers[i]!), 0);
      x = layer.apply(x, batch, past).out;
    });
    return this.finalHidden(x, batch, [B, L, d]);
  }

  private finalHidden(x: tf.Tensor2D, batch: SequenceBatch, shape: [number, number, number]): tf.Tensor3D {
    return tf.reshape(batch.unpack(this.parts.finalNorm(x)), shape);
  }

  logits(hidden: tf.Tensor2D): tf.Tensor2D {
    const [rows, V] = [hidden.shape[0], this.dims.vocabSize];
    assertTensorFits('the logits (rows, V)', [rows, V]);
    // The logits, their log-softmax and, when training, its gradient.
    assertActivationsFit(`the logits of ${rows} rows over ${V} tokens`, 4 * rows * V * (isRecordingGradients() ? 3 : 2));
    return this.parts.head.apply(hidden);
  }

  dispose(): void {
    this.parts.placement.dispose();
  }

  private checkInput(inputs: tf.Tensor3D, lengths: readonly number[], prefixRows: number): void {
    const [B, L, width] = inputs.shape;
    const T = prefixRows + L;
    const bad = (message: string) => new EngineError('BAD_ARGUMENT', message);
    if (width !== this.dims.hiddenSize) throw bad(`input rows have width ${width}, the model's is ${this.dims.hiddenSize}`);
    if (lengths.length !== B) throw bad(`${lengths.length} lengths for a batch of ${B} rows`);
    if (lengths.some((length) => !Number.isInteger(length) || length < 1 || length > L)) {
      throw bad(`every length must be an integer in 1 … ${L}, got [${lengths.join(', ')}]`);
    }
    if (T > this.dims.maxPositions) {
      throw new EngineError('SEQUENCE_TOO_LONG', `prompt rows + tokens = ${T} exceed the model's ${this.dims.maxPositions} positions`);
    }
    this.checkActivations(lengths, L, prefixRows, isRecordingGradients());
  }

  assertPassFits(rows: readonly RowShape[], promptRows: number, training: boolean): void {
    const lengths = rows.map(({ input, continuation }) => input + continuation);
    this.checkActivations(lengths, Math.max(...lengths), promptRows, training);
  }

  /** The largest tensors, and all the activations, of a pass over B rows of T positions (real up to `lengths`) that follow P shared ones. */
  private checkActivations(lengths: readonly number[], T: number, P: number, training: boolean): void {
    const { packed, sizes: { heads: H, qkvWidth, mlpWidth }, footprint } = this.parts;
    const { hiddenSize: d, numLayers } = this.dims;
    const B = lengths.length;
    assertTensorFits("the batch's attention scores (B, H, T, P + T)", [B, H, T, P + T]);
    assertTensorFits("the batch's query, key and value rows (B·T, qkv)", [B * T, qkvWidth]);
    assertTensorFits("the batch's MLP activations (B·T, inner)", [B * T, mlpWidth]);
    // Packed rows number Σ lengths and attend to P + their own; padded ones are B·T, each seeing P + T.
    const rows = packed ? lengths.reduce((sum, length) => sum + length, 0) : B * T;
    const pairs = packed ? lengths.reduce((sum, length) => sum + length * (P + length), 0) : B * T * (P + T);
    const probs = footprint.probsCopies * H * pairs;
    const perLayerKept = (rows + P) * footprint.keptPerRow + probs;
    const running = (rows + P) * footprint.runningPerRow + probs;
    // Training also holds a layer's gradients while the backward pass runs through it.
    const floats = (training ? numLayers * perLayerKept + (rows + P) * footprint.runningPerRow : 0) + running + 3 * rows * d;
    assertActivationsFit(`${training ? 'training' : 'inference'} on ${B} rows of ${T} positions (after ${P} prompt rows)`, 4 * floats);
  }
}
