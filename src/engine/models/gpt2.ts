/**
 * GPT-2 (pre-LayerNorm decoder, learned positions, tied output head) as a frozen model that
 * takes a soft prompt in front of the token embeddings. Shapes: B batch, T = n + L sequence,
 * d width, H heads, hs = d / H head size, V vocabulary.
 */
import { gelu } from '../activations.js';
import { nativeGelu, nativeLayerNorm } from '../native/native-ops.js';
import { tf } from '../tf.js';
import { attend, type AttentionShape, type RowCache } from './attention.js';
import { CausalDecoder, residual, type DecoderLayer, type LayerFootprint } from './causal-decoder.js';
import type { FrozenLinear } from './frozen-linear.js';
import type { Gpt2Config } from './gpt2-config.js';
import type { Gpt2BlockWeights, Gpt2Weights, LayerNormWeights } from './gpt2-weights.js';
import { sequenceBatcher, type SequenceBatch } from './sequence-batch.js';
import type { WeightPlacement } from './weight-placement.js';

function portableLayerNorm(x: tf.Tensor2D, { gamma, beta }: LayerNormWeights, epsilon: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon))), gamma), beta);
}

/** The parts the OpenBLAS addon's fused kernels can run, or TF.js compositions where it does not. */
interface Gpt2Ops {
  readonly gelu: <T extends tf.Tensor>(x: T) => T;
  readonly layerNorm: (x: tf.Tensor2D, weights: LayerNormWeights, epsilon: number) => tf.Tensor2D;
  readonly native: boolean;
}

const PORTABLE_OPS: Gpt2Ops = { gelu, layerNorm: portableLayerNorm, native: false };
const NATIVE_OPS: Gpt2Ops = { gelu: nativeGelu, layerNorm: (x, { gamma, beta }, epsilon) => nativeLayerNorm(x, gamma, beta, epsilon), native: true };

/**
 * Floats per row and layer, measured on gpt2-mini (d = 256, inner = 4d) with a margin: what a
 * gradient tape keeps of a block for the backward pass, and what a block holds while it runs. The
 * native path keeps little besides the attention probabilities; the portable one's compositions
 * keep many intermediates, and three copies of the scores.
 */
function gpt2Footprint(d: number, inner: number, native: boolean): LayerFootprint {
  return native
    ? { keptPerRow: 7 * d + 1.5 * inner, runningPerRow: 10 * d + 2 * inner, probsCopies: 1 } // measured: 11.7d
    : { keptPerRow: 50 * d + 10 * inner, runningPerRow: 50 * d + 10 * inner, probsCopies: 3 }; // measured: 88.7d
}

class Gpt2Block implements DecoderLayer {
  private readonly ln1: LayerNormWeights;
  private readonly ln2: LayerNormWeights;
  private readonly qkv: FrozenLinear;
  private readonly proj: FrozenLinear;
  private readonly fc: FrozenLinear;
  private readonly fcProj: FrozenLinear;

  constructor(
    private readonly epsilon: number,
    weights: Gpt2BlockWeights,
    private readonly attention: AttentionShape,
    private readonly ops: Gpt2Ops,
  ) {
    ({ ln1: this.ln1, ln2: this.ln2, attnQkv: this.qkv, attnProj: this.proj, mlpFc: this.fc, mlpProj: this.fcProj } = weights);
  }

  /** The [q | k | v] rows (rows, 3d) are what later positions need of these: `shared`. */
  apply(x: tf.Tensor2D, batch: SequenceBatch, past?: tf.Tensor2D | RowCache): { out: tf.Tensor2D; shared: tf.Tensor2D } {
    // Its own tidy: without a gradient tape the layer's intermediates go at once (with one, the tape keeps what it needs).
    return tf.tidy(() => {
      const qkv = this.qkv.apply(this.ops.layerNorm(x, this.ln1, this.epsilon));
      const attended = residual(x, this.proj.apply(attend(qkv, batch, past, this.attention, this.ops.native)));
      const hidden = this.ops.gelu(this.fc.apply(this.ops.layerNorm(attended, this.ln2, this.epsilon)));
      return { out: residual(attended, this.fcProj.apply(hidden)), shared: qkv };
    });
  }
}

/**
 * @param placement where `weights` live; the model disposes it
 * @param options.nativeOps run attention, GELU, layer norm and row packing on the OpenBLAS addon's fused kernels (see native-ops.ts)
 */
export function gpt2Model(config: Gpt2Config, weights: Gpt2Weights, placement: WeightPlacement, { nativeOps }: { nativeOps: boolean }): CausalDecoder {
  const ops = nativeOps ? NATIVE_OPS : PORTABLE_OPS;
  const { hiddenSize: d, numHeads: H, innerSize, layerNormEpsilon: epsilon } = config;
  const headSize = d / H;
  const layers = weights.blocks.map((w, i) => {
    const scale = (config.scaleAttnWeights ? 1 / Math.sqrt(headSize) : 1) / (config.scaleAttnByInverseLayerIdx ? i + 1 : 1);
    return new Gpt2Block(epsilon, w, { heads: H, kvHeads: H, headSize, scale }, ops);
  });
  return new CausalDecoder({
    modelType: 'gpt2',
    dims: { vocabSize: config.vocabSize, hiddenSize: d, maxPositions: config.maxPositions, numLayers: config.numLayers, numHeads: config.numHeads },
    embedding: weights.embedding,
    head: weights.head,
    layers,
    // Learned position embeddings are added to the inputs.
    inputRows: (inputs, offset) => {
      const [B, T] = inputs.shape;
      return tf.reshape(tf.add(inputs, tf.slice(weights.wpe, [offset, 0], [T, d])), [B * T, d]);
    },
    positionRows: (x, positions) => tf.add(x, tf.gather(weights.wpe, tf.tensor1d(positions, 'int32'))) as tf.Tensor2D,
    finalNorm: (x) => ops.layerNorm(x, weights.lnF, epsilon),
    batcher: sequenceBatcher(ops.native),
    packed: ops.native,
    sizes: { heads: H, qkvWidth: 3 * d, mlpWidth: innerSize },
    kvShape: { heads: H, kvHeads: H, headSize },
    footprint: gpt2Footprint(d, innerSize, ops.native),
    placement,
  });
}
