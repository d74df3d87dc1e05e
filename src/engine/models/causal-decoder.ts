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
import { RowCache, type AttentionShape } from './attention.js';
import type { FrozenLinear } from './frozen-linear.js';
import { causalPredictiveStates, embedSequences, sequenceLayout } from '../sequences.js';
import { selectRows } from '../select-rows.js';
import type { CachedDecoding, CausalLanguageModel, ContinuedRow, ModelDimensions, PrefixGroup, PrefixState, RowShape } from './frozen-model.js';
import { decodingBatch, type SequenceBatch, type SequenceBatcher } from './sequence-batch.js';
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
   * positions common to every sequence, attended to before each sequence's own; or, decoding,
   * each row's own cache of the positions it has seen (one new position per row, see RowCache).
   * `shared` is what positions that follow these rows need of them (their keys and values).
   */
  apply(x: tf.Tensor2D, batch: SequenceBatch, past?: tf.Tensor2D | RowCache): { out: tf.Tensor2D; shared: tf.Tensor2D };
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
  /** Input embeddings (N, d), row i at positions[i] → the first layer's rows (N, d): one new position per decoding row. */
  positionRows(x: tf.Tensor2D, positions: Int32Array): tf.Tensor2D;
  /** The last layer's rows → the final hidden states' rows. */
  finalNorm(x: tf.Tensor2D): tf.Tensor2D;
  readonly batcher: SequenceBatcher;
  /** Whether `batcher` packs rows (the addon's path) or pads them. */
  readonly packed: boolean;
  /** For the checks of single tensors: query heads, [q | k | v] row width, the MLP's widest activation. */
  readonly sizes: { readonly heads: number; readonly qkvWidth: number; readonly mlpWidth: number };
  /** How the [q | k | v] rows split into heads (every layer's the same), for the decoding caches. */
  readonly kvShape: Omit<AttentionShape, 'scale'>;
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
    const n = this.checkPrefixGroups(groups, inputs.shape[0]);
    this.checkInput(inputs, lengths, n);
    return tf.tidy(() => this.afterPrefixes(groups.map(({ state, sequences }) => ({ layers: state.layers, sequences })), n, inputs, lengths));
  }

  /** The rows every group's state has (all the same), checked against this model's layers and a batch of B sequences. */
  private checkPrefixGroups(groups: readonly PrefixGroup[], B: number): number {
    const n = groups[0]?.state.rows ?? 0;
    const bad = (message: string) => new EngineError('BAD_ARGUMENT', message);
    if (groups.length === 0 || groups.some(({ state }) => state.rows !== n)) throw bad(`prefix states must all have the same rows, got [${groups.map(({ state }) => state.rows).join(', ')}]`);
    if (groups.some(({ state }) => state.layers.length !== this.parts.layers.length)) throw bad("a prefix state is not of this model's layers");
    const sequences = groups.reduce((sum, { sequences }) => sum + sequences, 0);
    if (sequences !== B) throw bad(`the prefix groups hold ${sequences} sequences, the batch has ${B}`);
    return n;
  }

  startDecoding(groups: readonly PrefixGroup[], inputs: readonly (readonly number[])[], maxNewTokens: number): CachedDecoding {
    const n = this.checkPrefixGroups(groups, inputs.length);
    const lengths = inputs.map((ids) => ids.length);
    const tokens = sequenceLayout(this, inputs.map((ids) => ({ ids })));
    const embedded = embedSequences(this, inputs.map((ids) => ({ ids })), tokens);
    try {
      this.assertCachesFit(inputs.length, n + tokens.T + maxNewTokens);
      return this.prefill(groups, n, embedded, lengths);
    } finally {
      embedded.dispose();
    }
  }

  /** Keys and values of every layer for B rows of S positions each (decoding caches). */
  private assertCachesFit(B: number, S: number): void {
    const { kvShape: { kvHeads, headSize } } = this.parts;
    assertActivationsFit(`the key/value caches of ${B} rows of up to ${S} positions`, 4 * this.parts.layers.length * B * S * (2 * kvHeads * headSize + 1));
  }

  /** Runs the inputs after their prefixes, keeping each layer's keys and values of both per row. */
  private prefill(groups: readonly PrefixGroup[], n: number, inputs: tf.Tensor3D, lengths: readonly number[]): CachedDecoding {
    const [B, L, d] = inputs.shape;
    const caches: RowCache[] = [];
    const logits = tf.tidy(() => {
      this.checkInput(inputs, lengths, n);
      const hidden = this.afterPrefixes(groups.map(({ state, sequences }) => ({ layers: state.layers, sequences })), n, inputs, lengths, (i, own) => {
        const { qkvWidth } = this.parts.sizes;
        const prefixes = groups.map(({ state, sequences }) => tf.broadcastTo(tf.expandDims(state.layers[i]!, 0), [sequences, n, qkvWidth]));
        const rows = tf.concat([...(prefixes.length > 1 ? [tf.concat(prefixes, 0)] : prefixes), tf.reshape(own, [B, L, qkvWidth])], 1) as tf.Tensor3D;
        caches.push(RowCache.of(rows, lengths.map((length) => n + length), this.parts.kvShape));
      });
      const last = selectRows(tf.reshape(hidden, [B * L, d]) as tf.Tensor2D, lengths.map((length, b) => b * L + length - 1));
      return this.logits(last);
    });
    return this.decoding(caches, logits, Int32Array.from(lengths, (length) => n + length));
  }

  /** The decoding of rows whose caches hold what they have seen, each next at `positions`. */
  private decoding(caches: RowCache[], first: tf.Tensor2D, positions: Int32Array): CachedDecoding {
    let logits = first;
    let at = positions;
    const model = this;
    return {
      get logits() {
        return logits;
      },
      feed(next) {
        const rows = next.map(({ row }) => row);
        if (rows.length !== at.length || rows.some((row, i) => row !== i)) for (const cache of caches) cache.select(rows);
        at = Int32Array.from(rows, (row) => at[row]!);
        const step = tf.tidy(() => {
          const ids = tf.tensor2d(Int32Array.from(next, ({ token }) => token), [next.length, 1], 'int32');
          let x = model.parts.positionRows(tf.reshape(model.embed(ids), [next.length, model.dims.hiddenSize]) as tf.Tensor2D, at);
          const batch = decodingBatch(at);
          model.parts.layers.forEach((layer, i) => (x = layer.apply(x, batch, caches[i]).out));
          return model.logits(model.parts.finalNorm(x));
        });
        logits.dispose();
        logits = step;
        at = at.map((position) => position + 1);
      },
      dispose() {
        logits.dispose();
        for (const cache of caches) cache.dispose();
      },
    };
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

  /**
   * Inputs [B, L, d] after prefixes of n rows: group g's `sequences` consecutive rows attend to its
   * layers' rows. `keep` is handed each layer's `shared` rows of the inputs, padded (B·L, qkv).
   */
  private afterPrefixes(
    groups: ReadonlyArray<{ layers: readonly tf.Tensor2D[]; sequences: number }>, n: number, inputs: tf.Tensor3D, lengths: readonly number[],
    keep?: (layer: number, shared: tf.Tensor2D) => void,
  ): tf.Tensor3D {
    const [B, L, d] = inputs.shape;
    const batch = this.parts.batcher(lengths, L, n, groups.map(({ sequences }) => sequences));
    let x = batch.pack(this.parts.inputRows(inputs, n));
    this.parts.layers.forEach((layer, i) => {
      const past = groups.length === 1 ? groups[0]!.layers[i]! : tf.concat(groups.map(({ layers }) => layers[i]!), 0);
      const { out, shared } = layer.apply(x, batch, past);
      keep?.(i, batch.unpack(shared));
      x = out;
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
