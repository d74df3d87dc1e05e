/**
 * GPT-2 (pre-LayerNorm decoder, learned positions, tied output head) as a frozen model that
 * takes a soft prompt in front of the token embeddings. Shapes: B batch, T = n + L sequence,
 * d width, H heads, hs = d / H head size, V vocabulary.
 */
import { gelu } from '../activations.js';
import { EngineError } from '../engine-error.js';
import { isRecordingGradients } from '../gradient-tape.js';
import { assertActivationsFit } from '../memory-budget.js';
import { gatherRows, nativeAttention, nativeGelu, nativeLayerNorm } from '../native/native-ops.js';
import { assertTensorFits } from '../tensor-limit.js';
import { tf } from '../tf.js';
import type { FrozenLinear } from './frozen-linear.js';
import type { FrozenModel, ModelDimensions } from './frozen-model.js';
import type { Gpt2Config } from './gpt2-config.js';
import type { Gpt2BlockWeights, Gpt2Weights, LayerNormWeights } from './gpt2-weights.js';
import type { WeightPlacement } from './weight-placement.js';

/**
 * a + b of one shape, as a residual connection: its gradient passes dy to both, so unlike tf.add
 * (which keeps both inputs for their shapes) it keeps nothing for the backward pass.
 */
const residual = tf.customGrad((a, b) => ({
  value: tf.add(a as tf.Tensor, b as tf.Tensor),
  gradFunc: (dy) => [dy as tf.Tensor, dy as tf.Tensor],
})) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/** Added to the attention scores of keys a query may not see; exp() of it is exactly 0. */
const MASKED = -1e9;

function portableLayerNorm(x: tf.Tensor2D, { gamma, beta }: LayerNormWeights, epsilon: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon))), gamma), beta);
}

/**
 * Additive attention mask (B, 1, T, P + T) for T queries that follow P shared positions: query i
 * sees every shared key, and its row's key j when j ≤ i (causal) and j < lengths[b] (right
 * padding is hidden).
 */
function attentionMask(lengths: readonly number[], T: number, P: number): tf.Tensor4D {
  const width = P + T;
  const mask = new Float32Array(lengths.length * T * width);
  lengths.forEach((real, b) => {
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        if (j > i || j >= real) mask[(b * T + i) * width + P + j] = MASKED;
      }
    }
  });
  return tf.tensor4d(mask, [lengths.length, 1, T, width]);
}

/**
 * A batch of B sequences of T positions, real up to `lengths`, as the blocks see it: padded to
 * B·T rows with an additive mask (portable path), or packed to Σ lengths rows with no padding
 * (native attention, which needs no mask).
 */
interface SequenceBatch {
  readonly B: number;
  readonly T: number;
  readonly lengths: readonly number[];
  /** (B, 1, T, P + T); null for packed rows. */
  readonly mask: tf.Tensor4D | null;
  /** (B·T, d) padded rows → the blocks' rows. */
  pack(x: tf.Tensor2D): tf.Tensor2D;
  /** The blocks' rows → (B·T, d), padding rows 0 where they were packed away. */
  unpack(x: tf.Tensor2D): tf.Tensor2D;
}

const keepRows = (x: tf.Tensor2D) => x;

function paddedBatch(lengths: readonly number[], T: number, P: number): SequenceBatch {
  return { B: lengths.length, T, lengths, mask: attentionMask(lengths, T, P), pack: keepRows, unpack: keepRows };
}

/** Packs and unpacks by row gathers (each the other's gradient): O(rows · d), on the addon's backends. */
function packedBatch(lengths: readonly number[], T: number): SequenceBatch {
  const base = { B: lengths.length, T, lengths, mask: null };
  if (lengths.every((length) => length === T)) return { ...base, pack: keepRows, unpack: keepRows };
  const rows = lengths.reduce((sum, length) => sum + length, 0);
  const packed = new Int32Array(rows); // packed row → padded row
  const padded = new Int32Array(lengths.length * T).fill(-1); // padded row → packed row, −1 for padding
  let row = 0;
  lengths.forEach((length, b) => {
    for (let j = 0; j < length; j++, row++) {
      packed[row] = b * T + j;
      padded[b * T + j] = row;
    }
  });
  return { ...base, pack: (x) => gatherRows(x, packed, padded), unpack: (x) => gatherRows(x, padded, packed) };
}

/** The parts the OpenBLAS addon's fused kernels can run, or TF.js compositions where it does not. */
interface ModelOps {
  readonly gelu: <T extends tf.Tensor>(x: T) => T;
  readonly layerNorm: (x: tf.Tensor2D, weights: LayerNormWeights, epsilon: number) => tf.Tensor2D;
  readonly sequenceBatch: (lengths: readonly number[], T: number, P: number) => SequenceBatch;
  readonly nativeAttention: boolean;
}

const PORTABLE_OPS: ModelOps = { gelu, layerNorm: portableLayerNorm, sequenceBatch: paddedBatch, nativeAttention: false };
const NATIVE_OPS: ModelOps = {
  gelu: nativeGelu,
  layerNorm: (x, { gamma, beta }, epsilon) => nativeLayerNorm(x, gamma, beta, epsilon),
  sequenceBatch: packedBatch,
  nativeAttention: true,
};

class Gpt2Block {
  private readonly ln1: LayerNormWeights;
  private readonly ln2: LayerNormWeights;
  private readonly qkv: FrozenLinear;
  private readonly proj: FrozenLinear;
  private readonly fc: FrozenLinear;
  private readonly fcProj: FrozenLinear;

  constructor(
    private readonly config: Gpt2Config,
    weights: Gpt2BlockWeights,
    private readonly scoreScale: number,
    private readonly ops: ModelOps,
  ) {
    ({ ln1: this.ln1, ln2: this.ln2, attnQkv: this.qkv, attnProj: this.proj, mlpFc: this.fc, mlpProj: this.fcProj } = weights);
  }

  /**
   * x: (B·T, d) → (B·T, d). With `past`, the [q | k | v] rows (P, 3d) of P earlier positions
   * shared by every sequence, whose keys and values come before the sequence's own. Also returns
   * this block's [q | k | v] rows (B·T, 3d), the `past` of positions that follow.
   */
  apply(x: tf.Tensor2D, batch: SequenceBatch, past?: tf.Tensor2D): { out: tf.Tensor2D; qkv: tf.Tensor2D } {
    // Its own tidy: without a gradient tape the layer's intermediates go at once (with one, the tape keeps what it needs).
    return tf.tidy(() => {
      const eps = this.config.layerNormEpsilon;
      const qkv = this.qkv.apply(this.ops.layerNorm(x, this.ln1, eps));
      const attended = residual(x, this.proj.apply(this.attention(qkv, batch, past)));
      const hidden = this.ops.gelu(this.fc.apply(this.ops.layerNorm(attended, this.ln2, eps)));
      return { out: residual(attended, this.fcProj.apply(hidden)), qkv };
    });
  }

  /** Context (one row per row of qkv) of the heads' attention over `past` and the sequence's own positions. */
  private attention(qkv: tf.Tensor2D, { B, T, lengths, mask }: SequenceBatch, past?: tf.Tensor2D): tf.Tensor2D {
    const { hiddenSize: d, numHeads: H } = this.config;
    if (this.ops.nativeAttention) return nativeAttention(qkv, past ?? null, { lengths: [...lengths], heads: H, scale: this.scoreScale });
    const hs = d / H;
    const heads = (t: tf.Tensor2D, rows: number) => tf.transpose(tf.reshape(t, [rows, t.shape[0] / rows, H, hs]), [0, 2, 1, 3]) as tf.Tensor4D; // (rows, H, ·, hs)
    const [q, k, v] = tf.split(qkv, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]; // each (B·T, d)
    const [, pastK, pastV] = past ? (tf.split(past, 3, 1) as tf.Tensor2D[]) : [];
    const withPast = (mine: tf.Tensor2D, shared: tf.Tensor2D | undefined) => {
      const own = heads(mine, B);
      return shared ? tf.concat([tf.broadcastTo(heads(shared, 1), [B, H, shared.shape[0], hs]), own], 2) : own; // (B, H, P+T, hs)
    };
    const scores = tf.add(tf.mul(tf.matMul(heads(q, B), withPast(k, pastK), false, true), this.scoreScale), mask!); // (B, H, T, P+T)
    const context = tf.matMul(tf.softmax(scores), withPast(v, pastV)); // (B, H, T, hs)
    return tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [B * T, d]) as tf.Tensor2D;
  }
}

export class Gpt2Model implements FrozenModel {
  readonly modelType = 'gpt2';
  readonly dims: ModelDimensions;
  private readonly blocks: Gpt2Block[];
  private readonly ops: ModelOps;

  /**
   * @param placement where `weights` live; the model disposes it
   * @param options.nativeOps run attention, GELU, layer norm and row packing on the OpenBLAS addon's fused kernels (see native-ops.ts)
   */
  constructor(
    private readonly config: Gpt2Config,
    private readonly weights: Gpt2Weights,
    private readonly placement: WeightPlacement,
    { nativeOps }: { nativeOps: boolean },
  ) {
    this.ops = nativeOps ? NATIVE_OPS : PORTABLE_OPS;
    this.dims = {
      vocabSize: config.vocabSize,
      hiddenSize: config.hiddenSize,
      maxPositions: config.maxPositions,
      numLayers: config.numLayers,
    };
    this.blocks = weights.blocks.map((w, i) => {
      const headSize = config.hiddenSize / config.numHeads;
      const scale = (config.scaleAttnWeights ? 1 / Math.sqrt(headSize) : 1) / (config.scaleAttnByInverseLayerIdx ? i + 1 : 1);
      return new Gpt2Block(config, w, scale, this.ops);
    });
  }

  embed(ids: tf.Tensor2D): tf.Tensor3D {
    return this.weights.embedding.lookup(ids) as tf.Tensor3D;
  }

  transform(inputs: tf.Tensor3D, lengths: readonly number[]): tf.Tensor3D {
    const [B, T, d] = inputs.shape;
    this.checkInput(inputs, lengths, 0);
    return tf.tidy(() => {
      const batch = this.ops.sequenceBatch(lengths, T, 0);
      let x = batch.pack(this.withPositions(inputs, 0));
      for (const block of this.blocks) x = block.apply(x, batch).out;
      return this.finalNorm(x, batch, [B, T, d]);
    });
  }

  transformAfterPrefix(prefix: tf.Tensor2D, inputs: tf.Tensor3D, lengths: readonly number[]): tf.Tensor3D {
    const [B, L, d] = inputs.shape;
    const n = prefix.shape[0];
    this.checkInput(inputs, lengths, n);
    return tf.tidy(() => {
      // The prefix sees only itself (causal), so one pass over it serves every row.
      const prefixBatch = this.ops.sequenceBatch([n], n, 0);
      const inputBatch = this.ops.sequenceBatch(lengths, L, n);
      let p = this.withPositions(tf.expandDims(prefix, 0) as tf.Tensor3D, 0); // (n, d)
      let x = inputBatch.pack(this.withPositions(inputs, n));
      for (const block of this.blocks) {
        const { out, qkv } = block.apply(p, prefixBatch);
        p = out;
        x = block.apply(x, inputBatch, qkv).out;
      }
      return this.finalNorm(x, inputBatch, [B, L, d]);
    });
  }

  /** (B, T, d) inputs at positions offset … offset+T−1 → (B·T, d) with position embeddings added. */
  private withPositions(inputs: tf.Tensor3D, offset: number): tf.Tensor2D {
    const [B, T, d] = inputs.shape;
    const positions = tf.slice(this.weights.wpe, [offset, 0], [T, d]); // (T, d)
    return tf.reshape(tf.add(inputs, positions), [B * T, d]);
  }

  private finalNorm(x: tf.Tensor2D, batch: SequenceBatch, shape: [number, number, number]): tf.Tensor3D {
    return tf.reshape(batch.unpack(this.ops.layerNorm(x, this.weights.lnF, this.config.layerNormEpsilon)), shape);
  }

  logits(hidden: tf.Tensor2D): tf.Tensor2D {
    const [rows, V] = [hidden.shape[0], this.config.vocabSize];
    assertTensorFits('the logits (rows, V)', [rows, V]);
    // The logits, their log-softmax and, when training, its gradient.
    assertActivationsFit(`the logits of ${rows} rows over ${V} tokens`, 4 * rows * V * (isRecordingGradients() ? 3 : 2));
    return this.weights.head.apply(hidden);
  }

  dispose(): void {
    this.placement.dispose();
  }

  private checkInput(inputs: tf.Tensor3D, lengths: readonly number[], prefixRows: number): void {
    const [B, L, width] = inputs.shape;
    const T = prefixRows + L;
    const bad = (message: string) => new EngineError('BAD_ARGUMENT', message);
    if (width !== this.config.hiddenSize) throw bad(`input rows have width ${width}, the model's is ${this.config.hiddenSize}`);
    if (lengths.length !== B) throw bad(`${lengths.length} lengths for a batch of ${B} rows`);
    if (lengths.some((length) => !Number.isInteger(length) || length < 1 || length > L)) {
      throw bad(`every length must be an integer in 1 … ${L}, got [${lengths.join(', ')}]`);
    }
    if (T > this.config.maxPositions) {
      throw new EngineError('SEQUENCE_TOO_LONG', `prompt rows + tokens = ${T} exceed the model's ${this.config.maxPositions} positions`);
    }
    this.checkActivations(lengths, L, prefixRows, isRecordingGradients());
  }

  assertPassFits(lengths: readonly number[], prefixRows: number, training: boolean): void {
    this.checkActivations(lengths, Math.max(...lengths), prefixRows, training);
  }

  /** The largest tensors, and all the activations, of a pass over B rows of T positions (real up to `lengths`) that follow P shared ones. */
  private checkActivations(lengths: readonly number[], T: number, P: number, training: boolean): void {
    const { hiddenSize: d, numHeads: H, innerSize: I, numLayers } = this.config;
    const B = lengths.length;
    assertTensorFits("the batch's attention scores (B, H, T, P + T)", [B, H, T, P + T]);
    assertTensorFits("the batch's query, key and value rows (B·T, 3d)", [B * T, 3 * d]);
    assertTensorFits("the batch's MLP activations (B·T, inner)", [B * T, I]);
    // Floats per row and layer, measured on gpt2-mini (d = 256, inner = 4d) with a margin: what a
    // gradient tape keeps of a block for the backward pass, and what a block holds while it runs.
    // The native path packs rows (Σ lengths) and keeps little besides the attention probabilities;
    // the portable one pads (B·T rows) and its compositions keep many intermediates, and scores.
    const native = this.ops.nativeAttention;
    const rows = native ? lengths.reduce((sum, length) => sum + length, 0) : B * T;
    const keptPerRow = native ? 7 * d + 1.5 * I : 50 * d + 10 * I; // measured: 11.7d and 88.7d
    const runningPerRow = native ? 10 * d + 2 * I : 50 * d + 10 * I;
    const probs = native ? lengths.reduce((sum, length) => sum + H * length * (P + length), 0) : 3 * B * H * T * (P + T);
    const perLayerKept = (rows + P) * keptPerRow + probs;
    // Training also holds a layer's gradients while the backward pass runs through it.
    const floats = (training ? numLayers * perLayerKept + (rows + P) * runningPerRow : 0) + (rows + P) * runningPerRow + probs + 3 * rows * d;
    assertActivationsFit(`${training ? 'training' : 'inference'} on ${B} rows of ${T} positions (after ${P} prompt rows)`, 4 * floats);
  }

}
