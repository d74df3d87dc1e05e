/**
 * T5 (v1.0, v1.1, Flan-T5) as a frozen encoder-decoder that takes a soft prompt in front of the
 * encoder input, as prompt tuning did on T5 and as PEFT's encoder side does: the encoder runs
 * `[prompt rows][input tokens]` (bidirectional, padding hidden as keys; relative positions see
 * the prompt at 0 … n−1), and the decoder runs `[decoder start][continuation]` causally,
 * cross-attending to every real encoder position, prompt included. Attention has a relative-
 * position bias (each stack's block-0 table, added in every layer) and no 1/√d_kv scaling.
 * Shapes: B batch, Te encoder and Td decoder positions, d width, H heads, hs = d_kv, I = H·hs.
 */
import { gelu } from '../activations.js';
import { EngineError } from '../engine-error.js';
import { isRecordingGradients } from '../gradient-tape.js';
import { assertActivationsFit } from '../memory-budget.js';
import { nativeGelu } from '../native/native-ops.js';
import { selectRows } from '../select-rows.js';
import { embedSequences, sequenceLayout } from '../sequences.js';
import { assertTensorFits } from '../tensor-limit.js';
import { tf } from '../tf.js';
import { residual } from './causal-decoder.js';
import type { ContinuedRow, FrozenModel, ModelDimensions, RowShape } from './frozen-model.js';
import { relativePositionBias } from './relative-position.js';
import { rmsNormFor, type RmsNorm } from './rms-norm.js';
import type { T5Config } from './t5-config.js';
import type { T5EncoderBlockWeights, T5FeedForwardWeights, T5Weights } from './t5-weights.js';
import type { WeightPlacement } from './weight-placement.js';

/** Added to the scores of keys a query may not see; exp() of it is exactly 0. */
const MASKED = -1e9;

/** The distinct (prompt, input) pairs of `rows` as encoder rows, and the encoder row of each row. */
function distinctEncoderRows(rows: readonly ContinuedRow[]): { encoderRows: Array<{ prompt?: tf.Tensor2D; ids: readonly number[] }>; encoderOf: number[] } {
  const encoderRows: Array<{ prompt?: tf.Tensor2D; ids: readonly number[] }> = [];
  const seen = new Map<tf.Tensor2D | undefined, Map<string, number>>();
  const encoderOf = rows.map(({ prompt, input }) => {
    const byInput = seen.get(prompt) ?? seen.set(prompt, new Map()).get(prompt)!;
    const key = input.join(',');
    let index = byInput.get(key);
    if (index === undefined) {
      byInput.set(key, (index = encoderRows.length));
      encoderRows.push({ ...(prompt ? { prompt } : {}), ids: input });
    }
    return index;
  });
  return { encoderRows, encoderOf };
}

/**
 * How decoder rows meet the distinct encoder rows in cross-attention: `grouped` when decoder row b
 * attends to encoder row ⌊b / group⌋ (one row per input, or each input's labels in a row: no
 * copies), else by picking each decoder row's encoder rows (B·Te of them).
 */
type CrossLayout = { kind: 'grouped'; group: number } | { kind: 'picked'; encoderOf: readonly number[]; pick: number[] };

function crossLayout(encoderOf: readonly number[], Te: number): CrossLayout {
  const U = Math.max(...encoderOf) + 1;
  const group = encoderOf.length / U;
  if (Number.isInteger(group) && encoderOf.every((u, b) => u === Math.floor(b / group))) return { kind: 'grouped', group };
  return { kind: 'picked', encoderOf, pick: encoderOf.flatMap((u) => Array.from({ length: Te }, (_, j) => u * Te + j)) };
}

/** (B, 1, 1, T) hiding each row's keys past its length. */
function paddingMask(lengths: readonly number[], T: number): tf.Tensor4D {
  const mask = new Float32Array(lengths.length * T);
  lengths.forEach((length, b) => mask.fill(MASKED, b * T + length, (b + 1) * T));
  return tf.tensor4d(mask, [lengths.length, 1, 1, T]);
}

/** (1, 1, T, T) hiding the keys after each query. */
function causalMask(T: number): tf.Tensor4D {
  const mask = new Float32Array(T * T);
  for (let i = 0; i < T; i++) mask.fill(MASKED, i * T + i + 1, (i + 1) * T);
  return tf.tensor4d(mask, [1, 1, T, T]);
}

interface T5Ops {
  readonly rmsNorm: RmsNorm;
  readonly gelu: <T extends tf.Tensor>(x: T) => T;
}

/**
 * Floats a layer keeps per row for the backward pass, as a multiple of a count (the norms' inputs,
 * q, k, v and the context, the feed-forward's activations), plus the scores. Measured on
 * tiny-t5-random under a gradient tape: 2.9× the count with the addon's kernels, 5.4× with TF.js's
 * compositions alone; the factors keep a margin over both.
 */
const KEPT_PER_COUNTED = { native: 4, portable: 7 };

export class T5Model implements FrozenModel {
  readonly modelType = 't5';
  readonly promptStack = 'encoder' as const;
  readonly wordEndTokens: readonly number[];
  readonly dims: ModelDimensions;
  private readonly ops: T5Ops;
  private readonly inner: number;
  private readonly keptPerCounted: number;

  /**
   * @param placement where `weights` live; the model disposes it
   * @param options.nativeOps RMS norm and GELU on the OpenBLAS addon's kernels (its matMul runs either way on its backends)
   */
  constructor(
    private readonly config: T5Config,
    private readonly weights: T5Weights,
    private readonly placement: WeightPlacement,
    { nativeOps }: { nativeOps: boolean },
  ) {
    this.ops = { rmsNorm: rmsNormFor(nativeOps), gelu: nativeOps ? nativeGelu : gelu };
    this.keptPerCounted = nativeOps ? KEPT_PER_COUNTED.native : KEPT_PER_COUNTED.portable;
    this.inner = config.numHeads * config.headSize;
    this.wordEndTokens = [config.eosTokenId];
    this.dims = { vocabSize: config.vocabSize, hiddenSize: config.hiddenSize, maxPositions: config.maxPositions, numLayers: config.numLayers };
  }

  embed(ids: tf.Tensor2D): tf.Tensor3D {
    return this.weights.embedding.lookup(ids) as tf.Tensor3D;
  }

  continuationRoom(): number {
    return this.config.maxPositions - 1; // the decoder's start token takes a position
  }

  /** The encoder's output [B, Te, d] for `[prompt][input]` rows, right-padded (padding rows unspecified). */
  encoderStates(rows: ReadonlyArray<Pick<ContinuedRow, 'prompt' | 'input'>>): tf.Tensor3D {
    const encoderRows = rows.map(({ prompt, input }) => ({ ...(prompt ? { prompt } : {}), ids: input }));
    const layout = sequenceLayout(this, encoderRows);
    this.checkActivations(layout.lengths, [1], isRecordingGradients());
    return tf.tidy(() => {
      const d = this.config.hiddenSize;
      return tf.reshape(this.encode(tf.reshape(embedSequences(this, encoderRows, layout), [-1, d]) as tf.Tensor2D, layout.lengths, layout.T), [rows.length, layout.T, d]);
    });
  }

  predictiveStates(rows: readonly ContinuedRow[]): tf.Tensor2D {
    // Rows that share a prompt and an input (a classification's labels) share one encoder pass.
    const { encoderRows, encoderOf } = distinctEncoderRows(rows);
    const layout = sequenceLayout(this, encoderRows);
    const decoderLengths = rows.map(({ continuation }) => continuation.length + 1);
    const Td = Math.max(...decoderLengths);
    if (Td > this.config.maxPositions) throw new EngineError('SEQUENCE_TOO_LONG', `a decoder sequence of ${Td} positions exceeds the model's ${this.config.maxPositions}`);
    this.checkActivations(layout.lengths, decoderLengths, isRecordingGradients());
    const B = rows.length;
    const decoderIds = new Int32Array(B * Td); // padding: id 0, never attended to by a real position
    rows.forEach(({ continuation }, b) => {
      decoderIds[b * Td] = this.config.decoderStartTokenId;
      decoderIds.set(continuation, b * Td + 1);
    });
    const badId = [...decoderIds].find((id) => id < 0 || id >= this.config.vocabSize || !Number.isInteger(id));
    if (badId !== undefined) throw new EngineError('BAD_ARGUMENT', `token id ${badId} is outside the vocabulary of ${this.config.vocabSize}`);
    return tf.tidy(() => {
      const d = this.config.hiddenSize;
      const distinct = this.encode(tf.reshape(embedSequences(this, encoderRows, layout), [-1, d]) as tf.Tensor2D, layout.lengths, layout.T);
      const Te = layout.T;
      const encoder = { states: distinct, layout: crossLayout(encoderOf, Te), lengths: layout.lengths, T: Te };
      const decoded = this.decode(tf.reshape(this.embed(tf.tensor2d(decoderIds, [B, Td], 'int32')), [-1, d]) as tf.Tensor2D, B, Td, encoder);
      return selectRows(decoded, decoderLengths.flatMap((length, b) => Array.from({ length }, (_, j) => b * Td + j)));
    });
  }

  logits(hidden: tf.Tensor2D): tf.Tensor2D {
    const [rows, V] = [hidden.shape[0], this.config.vocabSize];
    assertTensorFits('the logits (rows, V)', [rows, V]);
    assertActivationsFit(`the logits of ${rows} rows over ${V} tokens`, 4 * rows * V * (isRecordingGradients() ? 3 : 2));
    // A tied head reads the embedding after rescaling by d^−0.5 (T5 v1.0); an untied one does not.
    return tf.tidy(() => this.weights.head.apply(this.config.tiedHead ? tf.mul(hidden, this.config.hiddenSize ** -0.5) : hidden));
  }

  assertPassFits(rows: readonly RowShape[], promptRows: number, training: boolean): void {
    this.checkActivations(rows.map(({ input }) => promptRows + input), rows.map(({ continuation }) => continuation + 1), training);
  }

  dispose(): void {
    this.placement.dispose();
  }

  /** Encoder rows (B·Te, d) → its output after the final norm. */
  private encode(x: tf.Tensor2D, lengths: readonly number[], Te: number): tf.Tensor2D {
    const B = lengths.length;
    const { relativeBuckets, relativeMaxDistance, numHeads: H } = this.config;
    const bias = tf.tensor4d(relativePositionBias(this.weights.encoderBias.data, H, Te, Te, true, relativeBuckets, relativeMaxDistance), [1, H, Te, Te]);
    const scoresBias = tf.add(bias, paddingMask(lengths, Te)) as tf.Tensor4D; // (B, H, Te, Te)
    for (const block of this.weights.encoder) {
      x = tf.tidy(() => {
        const attended = this.selfAttention(x, block, B, Te, scoresBias);
        return this.feedForward(attended, block.feedForward);
      });
    }
    return this.ops.rmsNorm(x, this.weights.encoderFinalNorm, this.config.layerNormEpsilon);
  }

  /**
   * Decoder rows (B·Td, d) attending to the encoder's output → its output after the final norm.
   * `encoder.states` (U·Te, d) are the distinct encoder rows, of `lengths`; `layout` says which of
   * them each decoder row attends to.
   */
  private decode(y: tf.Tensor2D, B: number, Td: number, encoder: { states: tf.Tensor2D; layout: CrossLayout; lengths: readonly number[]; T: number }): tf.Tensor2D {
    const { states, layout, lengths, T: Te } = encoder;
    const { relativeBuckets, relativeMaxDistance, numHeads: H, layerNormEpsilon: eps } = this.config;
    const bias = tf.tensor4d(relativePositionBias(this.weights.decoderBias.data, H, Td, Td, false, relativeBuckets, relativeMaxDistance), [1, H, Td, Td]);
    const selfBias = tf.add(bias, causalMask(Td)) as tf.Tensor4D;
    // Grouped: the g decoder rows of an encoder row are one query block of g·Td rows over its keys.
    const U = states.shape[0] / Te;
    const crossMask = layout.kind === 'grouped' ? paddingMask(lengths, Te) : paddingMask(layout.encoderOf.map((u) => lengths[u]!), Te);
    for (const block of this.weights.decoder) {
      y = tf.tidy(() => {
        const attended = this.selfAttention(y, block, B, Td, selfBias);
        const normed = this.ops.rmsNorm(attended, block.crossNorm, eps);
        const { crossQuery, crossKv, crossOutput } = block;
        const kv = crossKv.apply(states);
        const context =
          layout.kind === 'grouped'
            ? this.attention(crossQuery.apply(normed), kv, U, layout.group * Td, Te, crossMask)
            : this.attention(crossQuery.apply(normed), selectRows(kv, layout.pick), B, Td, Te, crossMask);
        return this.feedForward(residual(attended, crossOutput.apply(context)), block.feedForward);
      });
    }
    return this.ops.rmsNorm(y, this.weights.decoderFinalNorm, eps);
  }

  private selfAttention(x: tf.Tensor2D, block: T5EncoderBlockWeights, B: number, T: number, scoresBias: tf.Tensor4D): tf.Tensor2D {
    const qkv = block.selfQkv.apply(this.ops.rmsNorm(x, block.selfNorm, this.config.layerNormEpsilon));
    const [q, kv] = tf.split(qkv, [this.inner, 2 * this.inner], 1) as [tf.Tensor2D, tf.Tensor2D];
    return residual(x, block.selfOutput.apply(this.attention(q, kv, B, T, T, scoresBias)));
  }

  /** Context (B·Tq, I) of queries (B·Tq, I) over [k | v] rows (B·Tk, 2I), scores + `scoresBias` (broadcast to (B, H, Tq, Tk)), unscaled. */
  private attention(q: tf.Tensor2D, kv: tf.Tensor2D, B: number, Tq: number, Tk: number, scoresBias: tf.Tensor4D): tf.Tensor2D {
    const { numHeads: H, headSize: hs } = this.config;
    const heads = (t: tf.Tensor2D, T: number) => tf.transpose(tf.reshape(t, [B, T, H, hs]), [0, 2, 1, 3]) as tf.Tensor4D; // (B, H, T, hs)
    const [k, v] = tf.split(kv, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    const probs = tf.softmax(tf.add(tf.matMul(heads(q, Tq), heads(k, Tk), false, true), scoresBias)); // (B, H, Tq, Tk)
    const context = tf.matMul(probs, heads(v, Tk)); // (B, H, Tq, hs)
    return tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [B * Tq, H * hs]) as tf.Tensor2D;
  }

  private feedForward(x: tf.Tensor2D, { norm, wi, wo }: T5FeedForwardWeights): tf.Tensor2D {
    const projected = wi.apply(this.ops.rmsNorm(x, norm, this.config.layerNormEpsilon));
    const hidden =
      this.config.feedForward === 'gated-gelu'
        ? (() => {
            const [gate, linear] = tf.split(projected, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
            return tf.mul(this.ops.gelu(gate), linear) as tf.Tensor2D;
          })()
        : tf.relu(projected);
    return residual(x, wo.apply(hidden));
  }

  /**
   * The largest tensors, and all the activations, of a pass over encoder rows of `encoderLengths`
   * (the distinct ones) and decoder rows of `decoderLengths`.
   */
  private checkActivations(encoderLengths: readonly number[], decoderLengths: readonly number[], training: boolean): void {
    const { hiddenSize: d, numHeads: H, innerSize: ff, numLayers, numDecoderLayers, feedForward } = this.config;
    const [B, Bd] = [encoderLengths.length, decoderLengths.length];
    const [Te, Td] = [Math.max(...encoderLengths), Math.max(...decoderLengths)];
    assertTensorFits("the batch's encoder attention scores (B, H, Te, Te)", [B, H, Te, Te]);
    assertTensorFits("the batch's cross-attention scores (B, H, Td, Te)", [Bd, H, Td, Te]);
    const ffWidth = (feedForward === 'gated-gelu' ? 2 : 1) * ff;
    assertTensorFits("the batch's feed-forward activations (B·Te, d_ff)", [B * Te, ffWidth]);
    const counted = 2 * d + 4 * this.inner + 2 * ffWidth;
    const encoderLayer = B * Te * (this.keptPerCounted * counted + 3 * H * Te);
    const decoderLayer = Bd * Td * (this.keptPerCounted * (counted + 4 * this.inner) + 3 * H * (Td + Te));
    const kept = numLayers * encoderLayer + numDecoderLayers * decoderLayer;
    const floats = (training ? kept : 0) + Math.max(encoderLayer, decoderLayer) + 3 * (B * Te + Bd * Td) * d;
    assertActivationsFit(`${training ? 'training' : 'inference'} on ${B} rows of ${Te} encoder and ${Bd} of ${Td} decoder positions`, 4 * floats);
  }
}
