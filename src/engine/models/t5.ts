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
import { embedSequences, sequenceLayout, type PromptedRow, type SequenceLayout } from '../sequences.js';
import { assertTensorFits } from '../tensor-limit.js';
import { tf } from '../tf.js';
import { residual } from './causal-decoder.js';
import type { ContinuedRow, FrozenModel, ModelDimensions, RowShape } from './frozen-model.js';
import { relativePositionBias } from './relative-position.js';
import { attendPattern, attentionPattern, type AttentionPattern, type AttentionPatternSpec } from './t5-attention.js';
import { rmsNormFor, type RmsNorm } from './rms-norm.js';
import type { T5Config } from './t5-config.js';
import type { T5EncoderBlockWeights, T5FeedForwardWeights, T5Weights } from './t5-weights.js';
import type { WeightPlacement } from './weight-placement.js';

/** The distinct (prompt, input) pairs of `rows` as encoder rows, and the encoder row of each row. */
function distinctEncoderRows(rows: readonly ContinuedRow[]): { encoderRows: PromptedRow[]; encoderOf: number[] } {
  const encoderRows: PromptedRow[] = [];
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

interface T5Ops {
  readonly rmsNorm: RmsNorm;
  readonly gelu: <T extends tf.Tensor>(x: T) => T;
  /** Attention on the addon's kernel, else TF.js's ops. */
  readonly nativeAttention: boolean;
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
   * @param options.nativeOps attention, RMS norm and GELU on the OpenBLAS addon's kernels (its matMul runs either way on its backends)
   */
  constructor(
    private readonly config: T5Config,
    private readonly weights: T5Weights,
    private readonly placement: WeightPlacement,
    { nativeOps }: { nativeOps: boolean },
  ) {
    this.ops = { rmsNorm: rmsNormFor(nativeOps), gelu: nativeOps ? nativeGelu : gelu, nativeAttention: nativeOps };
    this.keptPerCounted = nativeOps ? KEPT_PER_COUNTED.native : KEPT_PER_COUNTED.portable;
    this.inner = config.numHeads * config.headSize;
    this.wordEndTokens = [config.eosTokenId];
    this.dims = { vocabSize: config.vocabSize, hiddenSize: config.hiddenSize, maxPositions: config.maxPositions, numLayers: config.numLayers, numHeads: config.numHeads };
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
    return tf.tidy(() => tf.reshape(this.encode(encoderRows, layout), [rows.length, layout.T, this.config.hiddenSize]));
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
      const encoder = { states: this.encode(encoderRows, layout), layout: crossLayout(encoderOf, layout.T), lengths: layout.lengths, T: layout.T };
      const decoded = this.decode(tf.reshape(this.embed(tf.tensor2d(decoderIds, [B, Td], 'int32')), [-1, this.config.hiddenSize]) as tf.Tensor2D, decoderLengths, encoder);
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

  /** The encoder's output (B·Te, d), after its final norm, for embedded `[prompt][input]` rows of `layout`. */
  private encode(rows: readonly PromptedRow[], layout: SequenceLayout): tf.Tensor2D {
    const { lengths, T: Te } = layout;
    let x = tf.reshape(embedSequences(this, rows, layout), [-1, this.config.hiddenSize]) as tf.Tensor2D;
    const bias = this.relativeBias(this.weights.encoderBias.data, Te, true);
    const pattern = this.pattern({ blocks: lengths.length, queries: Te, keys: Te, keyLengths: lengths, causal: false, bias });
    for (const block of this.weights.encoder) x = tf.tidy(() => this.feedForward(this.selfAttention(x, block, pattern), block.feedForward));
    return this.ops.rmsNorm(x, this.weights.encoderFinalNorm, this.config.layerNormEpsilon);
  }

  /**
   * Decoder rows (B·Td, d) of `lengths` attending to the encoder's output → its output after the
   * final norm. `encoder.states` (U·Te, d) are the distinct encoder rows, of `lengths`; `layout`
   * says which of them each decoder row attends to.
   */
  private decode(y: tf.Tensor2D, lengths: readonly number[], encoder: { states: tf.Tensor2D; layout: CrossLayout; lengths: readonly number[]; T: number }): tf.Tensor2D {
    const { states, layout, T: Te } = encoder;
    const [B, Td] = [lengths.length, Math.max(...lengths)];
    const selfPattern = this.pattern({ blocks: B, queries: Td, keys: Td, keyLengths: lengths, causal: true, bias: this.relativeBias(this.weights.decoderBias.data, Td, false) });
    // Grouped: the g decoder rows of an encoder row are one query block of g·Td rows over its keys.
    const crossPattern = this.pattern(
      layout.kind === 'grouped'
        ? { blocks: states.shape[0] / Te, queries: layout.group * Td, keys: Te, keyLengths: encoder.lengths, causal: false, bias: null }
        : { blocks: B, queries: Td, keys: Te, keyLengths: layout.encoderOf.map((u) => encoder.lengths[u]!), causal: false, bias: null },
    );
    for (const block of this.weights.decoder) {
      y = tf.tidy(() => {
        const attended = this.selfAttention(y, block, selfPattern);
        const { crossNorm, crossQuery, crossKv, crossOutput } = block;
        const kv = crossKv.apply(states);
        const q = crossQuery.apply(this.ops.rmsNorm(attended, crossNorm, this.config.layerNormEpsilon));
        const context = attendPattern({ q, kv: layout.kind === 'grouped' ? kv : selectRows(kv, layout.pick) }, crossPattern);
        return this.feedForward(residual(attended, crossOutput.apply(context)), block.feedForward);
      });
    }
    return this.ops.rmsNorm(y, this.weights.decoderFinalNorm, this.config.layerNormEpsilon);
  }

  /** [H, T, T] bias of a stack's table for T positions. */
  private relativeBias(table: Float32Array, T: number, bidirectional: boolean): Float32Array {
    const { relativeBuckets, relativeMaxDistance, numHeads } = this.config;
    return relativePositionBias(table, numHeads, T, T, bidirectional, relativeBuckets, relativeMaxDistance);
  }

  private pattern(spec: AttentionPatternSpec): AttentionPattern {
    return attentionPattern(spec, this.config.numHeads, this.config.headSize, this.ops.nativeAttention);
  }

  private selfAttention(x: tf.Tensor2D, block: T5EncoderBlockWeights, pattern: AttentionPattern): tf.Tensor2D {
    const qkv = block.selfQkv.apply(this.ops.rmsNorm(x, block.selfNorm, this.config.layerNormEpsilon));
    return residual(x, block.selfOutput.apply(attendPattern({ qkv }, pattern)));
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
