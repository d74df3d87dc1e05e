/**
 * Llama-family decoders (Llama, Qwen2, Mistral; SmolLM and TinyLlama are Llama) as frozen models
 * that take a soft prompt in front of the token embeddings: pre-RMSNorm layers, rotary positions
 * (the prompt at 0 … n−1, the input after it), grouped-query attention, a SwiGLU MLP, a tied or
 * untied head. Shapes: d width, H query heads, KV key/value heads, hs head size, I inner width.
 */
import { nativeSwiglu } from '../native/native-ops.js';
import { tf } from '../tf.js';
import { attend, qkvWidth, type AttentionShape, type RowCache } from './attention.js';
import { CausalDecoder, residual, type DecoderLayer, type LayerFootprint } from './causal-decoder.js';
import type { LlamaConfig } from './llama-config.js';
import type { LlamaLayerWeights, LlamaWeights } from './llama-weights.js';
import { rmsNormFor, type RmsNorm } from './rms-norm.js';
import { applyRotary, rotaryFrequencies, type RotaryHeads } from './rotary.js';
import { sequenceBatcher, type SequenceBatch } from './sequence-batch.js';
import type { WeightPlacement } from './weight-placement.js';

/** silu(gate) ⊙ up of rows [gate | up]. */
function portableSwiglu(gateUp: tf.Tensor2D): tf.Tensor2D {
  const [gate, up] = tf.split(gateUp, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
  return tf.mul(tf.mul(gate, tf.sigmoid(gate)), up);
}

interface LlamaOps {
  readonly rmsNorm: RmsNorm;
  readonly swiglu: (gateUp: tf.Tensor2D) => tf.Tensor2D;
  /** The addon's kernels (attention over packed rows, RoPE) or TF.js compositions. */
  readonly native: boolean;
}

const PORTABLE_OPS: LlamaOps = { rmsNorm: rmsNormFor(false), swiglu: portableSwiglu, native: false };
const NATIVE_OPS: LlamaOps = { rmsNorm: rmsNormFor(true), swiglu: nativeSwiglu, native: true };

/**
 * Floats per row and layer, as multiples of a count of what the tape must keep: the two norms'
 * inputs (2d), the rotated [q | k | v] rows and [gate | up] (2I). Measured on the addon's path:
 * 1.56× the count on tiny-llama-random (d = 64), 1.11× on a SmolLM2-135M shape (d = 576); on the
 * portable path, whose compositions keep several copies of each, 7.2× on tiny-llama-random. The
 * factors below cover those with a margin.
 */
function llamaFootprint(d: number, qkv: number, inner: number, native: boolean): LayerFootprint {
  const counted = 2 * d + qkv + 2 * inner;
  return native
    ? { keptPerRow: 1.7 * counted, runningPerRow: 1.7 * counted + 3 * inner, probsCopies: 1 }
    : { keptPerRow: 8 * counted, runningPerRow: 8 * counted, probsCopies: 3 };
}

class LlamaLayer implements DecoderLayer {
  constructor(
    private readonly weights: LlamaLayerWeights,
    private readonly epsilon: number,
    private readonly attention: AttentionShape,
    private readonly rotary: { readonly invFreq: Float32Array; readonly heads: RotaryHeads },
    private readonly ops: LlamaOps,
  ) {}

  /** The rotated [q | k | v] rows are what later positions need of these: `shared`. */
  apply(x: tf.Tensor2D, batch: SequenceBatch, past?: tf.Tensor2D | RowCache): { out: tf.Tensor2D; shared: tf.Tensor2D } {
    const { inputNorm, qkv: qkvProjection, output, postAttentionNorm, gateUp, down } = this.weights;
    return tf.tidy(() => {
      const projected = qkvProjection.apply(this.ops.rmsNorm(x, inputNorm, this.epsilon));
      const qkv = applyRotary(projected, batch.positions, this.rotary.invFreq, this.rotary.heads, this.ops.native);
      const attended = residual(x, output.apply(attend(qkv, batch, past, this.attention, this.ops.native)));
      const mlp = down.apply(this.ops.swiglu(gateUp.apply(this.ops.rmsNorm(attended, postAttentionNorm, this.epsilon))));
      return { out: residual(attended, mlp), shared: qkv };
    });
  }
}

/**
 * @param placement where `weights` live; the model disposes it
 * @param options.nativeOps run attention, RoPE, RMS norm, SwiGLU and row packing on the OpenBLAS addon's kernels (see native-ops.ts)
 */
export function llamaModel(config: LlamaConfig, weights: LlamaWeights, placement: WeightPlacement, { nativeOps }: { nativeOps: boolean }): CausalDecoder {
  const ops = nativeOps ? NATIVE_OPS : PORTABLE_OPS;
  const { hiddenSize: d, numHeads: H, numKvHeads: KV, headSize: hs, innerSize } = config;
  const attention: AttentionShape = { heads: H, kvHeads: KV, headSize: hs, scale: 1 / Math.sqrt(hs) };
  const rotary = { invFreq: rotaryFrequencies(hs, config.ropeTheta, config.ropeScaling), heads: { heads: H + 2 * KV, rotated: H + KV, headSize: hs } };
  return new CausalDecoder({
    modelType: config.modelType,
    dims: { vocabSize: config.vocabSize, hiddenSize: d, maxPositions: config.maxPositions, numLayers: config.numLayers, numHeads: config.numHeads },
    embedding: weights.embedding,
    head: weights.head,
    layers: weights.layers.map((w) => new LlamaLayer(w, config.rmsNormEpsilon, attention, rotary, ops)),
    // Positions enter through the rotary embedding of each layer's queries and keys.
    inputRows: (inputs) => tf.reshape(inputs, [-1, d]) as tf.Tensor2D,
    positionRows: (x) => x,
    finalNorm: (x) => ops.rmsNorm(x, weights.finalNorm, config.rmsNormEpsilon),
    batcher: sequenceBatcher(ops.native),
    packed: ops.native,
    sizes: { heads: H, qkvWidth: qkvWidth(attention), mlpWidth: 2 * innerSize },
    kvShape: attention,
    footprint: llamaFootprint(d, qkvWidth(attention), innerSize, ops.native),
    placement,
  });
}
