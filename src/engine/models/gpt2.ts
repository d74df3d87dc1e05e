/**
 * GPT-2 (pre-LayerNorm decoder, learned positions, tied output head) as a frozen model that
 * takes a soft prompt in front of the token embeddings. Shapes: B batch, T = n + L sequence,
 * d width, H heads, hs = d / H head size, V vocabulary.
 */
import { gelu } from '../activations.js';
import { EngineError } from '../engine-error.js';
import { assertTensorFits } from '../tensor-limit.js';
import { tf } from '../tf.js';
import { FrozenLinear } from './frozen-linear.js';
import type { FrozenModel, ModelDimensions } from './frozen-model.js';
import type { Gpt2Config } from './gpt2-config.js';
import type { Gpt2Weights, LayerNormWeights, LinearWeights } from './gpt2-weights.js';

/** Added to the attention scores of keys a query may not see; exp() of it is exactly 0. */
const MASKED = -1e9;

function layerNorm(x: tf.Tensor2D, { gamma, beta }: LayerNormWeights, epsilon: number): tf.Tensor2D {
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

/** Attention keys and values of some positions, (B, H, T, hs) each. */
interface KeyValues {
  readonly keys: tf.Tensor4D;
  readonly values: tf.Tensor4D;
}

class Gpt2Block {
  private readonly qkv: FrozenLinear;
  private readonly proj: FrozenLinear;
  private readonly fc: FrozenLinear;
  private readonly fcProj: FrozenLinear;

  constructor(
    private readonly config: Gpt2Config,
    private readonly ln1: LayerNormWeights,
    private readonly ln2: LayerNormWeights,
    linears: { attnQkv: LinearWeights; attnProj: LinearWeights; mlpFc: LinearWeights; mlpProj: LinearWeights },
    private readonly scoreScale: number,
    frozenLinear: (w: LinearWeights) => FrozenLinear,
  ) {
    this.qkv = frozenLinear(linears.attnQkv);
    this.proj = frozenLinear(linears.attnProj);
    this.fc = frozenLinear(linears.mlpFc);
    this.fcProj = frozenLinear(linears.mlpProj);
  }

  /**
   * x: (B·T, d) → (B·T, d). With `past`, the keys and values of P earlier positions shared by
   * every row, (1, H, P, hs), come before the row's own; the mask is then (B, 1, T, P + T).
   * Also returns this block's keys and values, (B, H, T, hs).
   */
  apply(x: tf.Tensor2D, B: number, T: number, mask: tf.Tensor4D, past?: KeyValues): { out: tf.Tensor2D; keyValues: KeyValues } {
    const eps = this.config.layerNormEpsilon;
    const { out: attention, keyValues } = this.attention(layerNorm(x, this.ln1, eps), B, T, mask, past);
    const attended = tf.add<tf.Tensor2D>(x, attention);
    const hidden = gelu(this.fc.apply(layerNorm(attended, this.ln2, eps)));
    return { out: tf.add(attended, this.fcProj.apply(hidden)), keyValues };
  }

  private attention(x: tf.Tensor2D, B: number, T: number, mask: tf.Tensor4D, past?: KeyValues): { out: tf.Tensor2D; keyValues: KeyValues } {
    const { hiddenSize: d, numHeads: H } = this.config;
    const hs = d / H;
    const [q, k, v] = tf.split(this.qkv.apply(x), 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]; // each (B·T, d)
    const heads = (t: tf.Tensor2D) => tf.transpose(tf.reshape(t, [B, T, H, hs]), [0, 2, 1, 3]) as tf.Tensor4D; // (B, H, T, hs)
    const own = { keys: heads(k), values: heads(v) };
    const withPast = (mine: tf.Tensor4D, shared: tf.Tensor4D | undefined) =>
      shared ? tf.concat([tf.broadcastTo(shared, [B, H, shared.shape[2], hs]), mine], 2) : mine; // (B, H, P+T, hs)
    const keys = withPast(own.keys, past?.keys);
    const scores = tf.add(tf.mul(tf.matMul(heads(q), keys, false, true), this.scoreScale), mask); // (B, H, T, P+T)
    const context = tf.matMul(tf.softmax(scores), withPast(own.values, past?.values)); // (B, H, T, hs)
    const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [B * T, d]) as tf.Tensor2D; // (B·T, d)
    return { out: this.proj.apply(merged), keyValues: own };
  }
}

export class Gpt2Model implements FrozenModel {
  readonly modelType = 'gpt2';
  readonly dims: ModelDimensions;
  private readonly blocks: Gpt2Block[];
  private readonly head: FrozenLinear;
  /** Tensors made here (transposes) and the imported weights, all disposed together. */
  private readonly owned: tf.Tensor[];

  /**
   * @param precomputeTransposes keep Wᵀ of every layer for the backward pass (see FrozenLinear)
   */
  constructor(
    private readonly config: Gpt2Config,
    private readonly weights: Gpt2Weights,
    precomputeTransposes: boolean,
  ) {
    this.dims = {
      vocabSize: config.vocabSize,
      hiddenSize: config.hiddenSize,
      maxPositions: config.maxPositions,
      numLayers: config.numLayers,
    };
    const blockTensors = weights.blocks.flatMap((b) =>
      Object.values(b).flatMap((w: LayerNormWeights | LinearWeights): tf.Tensor[] => Object.values(w)),
    );
    this.owned = [weights.wte, weights.wpe, weights.lnF.gamma, weights.lnF.beta, ...blockTensors];
    const keep = <T extends tf.Tensor>(t: T): T => {
      this.owned.push(t);
      return t;
    };
    const frozenLinear = ({ weight, bias }: LinearWeights) =>
      new FrozenLinear(weight, bias, precomputeTransposes ? keep(tf.transpose(weight)) : null);
    this.blocks = weights.blocks.map((w, i) => {
      const headSize = config.hiddenSize / config.numHeads;
      const scale = (config.scaleAttnWeights ? 1 / Math.sqrt(headSize) : 1) / (config.scaleAttnByInverseLayerIdx ? i + 1 : 1);
      return new Gpt2Block(config, w.ln1, w.ln2, w, scale, frozenLinear);
    });
    // The head is tied to the token embeddings: logits = h·wteᵀ, so W = wteᵀ and Wᵀ = wte.
    this.head = new FrozenLinear(keep(tf.transpose(weights.wte)), null, weights.wte);
  }

  get tokenEmbeddings(): tf.Tensor2D {
    return this.weights.wte;
  }

  embed(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.gather<tf.Tensor>(this.weights.wte, ids) as tf.Tensor3D;
  }

  transform(inputs: tf.Tensor3D, lengths: readonly number[]): tf.Tensor3D {
    const [B, T, d] = inputs.shape;
    this.checkInput(inputs, lengths, 0);
    return tf.tidy(() => {
      let x = this.withPositions(inputs, 0);
      const mask = attentionMask(lengths, T, 0);
      for (const block of this.blocks) x = block.apply(x, B, T, mask).out;
      return this.finalNorm(x, [B, T, d]);
    });
  }

  transformAfterPrefix(prefix: tf.Tensor2D, inputs: tf.Tensor3D, lengths: readonly number[]): tf.Tensor3D {
    const [B, L, d] = inputs.shape;
    const n = prefix.shape[0];
    this.checkInput(inputs, lengths, n);
    return tf.tidy(() => {
      // The prefix sees only itself (causal), so one pass over it serves every row.
      let p = this.withPositions(tf.expandDims(prefix, 0) as tf.Tensor3D, 0); // (n, d)
      let x = this.withPositions(inputs, n); // (B·L, d)
      const prefixMask = attentionMask([n], n, 0);
      const inputMask = attentionMask(lengths, L, n);
      for (const block of this.blocks) {
        const { out, keyValues } = block.apply(p, 1, n, prefixMask);
        p = out;
        x = block.apply(x, B, L, inputMask, keyValues).out;
      }
      return this.finalNorm(x, [B, L, d]);
    });
  }

  /** (B, T, d) inputs at positions offset … offset+T−1 → (B·T, d) with position embeddings added. */
  private withPositions(inputs: tf.Tensor3D, offset: number): tf.Tensor2D {
    const [B, T, d] = inputs.shape;
    const positions = tf.slice(this.weights.wpe, [offset, 0], [T, d]); // (T, d)
    return tf.reshape(tf.add(inputs, positions), [B * T, d]);
  }

  private finalNorm(x: tf.Tensor2D, shape: [number, number, number]): tf.Tensor3D {
    return tf.reshape(layerNorm(x, this.weights.lnF, this.config.layerNormEpsilon), shape);
  }

  logits(hidden: tf.Tensor2D): tf.Tensor2D {
    assertTensorFits('the logits (rows, V)', [hidden.shape[0], this.config.vocabSize]);
    return this.head.apply(hidden);
  }

  dispose(): void {
    tf.dispose(this.owned);
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
    this.assertActivationsFit(B, L, prefixRows);
  }

  /** The largest tensors of a pass over B rows of T positions that follow P shared ones. */
  private assertActivationsFit(B: number, T: number, P: number): void {
    const { hiddenSize: d, numHeads: H, innerSize } = this.config;
    assertTensorFits("the batch's attention scores (B, H, T, P + T)", [B, H, T, P + T]);
    assertTensorFits("the batch's query, key and value rows (B·T, 3d)", [B * T, 3 * d]);
    assertTensorFits("the batch's MLP activations (B·T, inner)", [B * T, innerSize]);
  }
}
