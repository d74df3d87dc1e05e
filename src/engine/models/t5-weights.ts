/**
 * Imports a Hugging Face T5 checkpoint (T5ForConditionalGeneration): `shared.weight`, the blocks of
 * `encoder.` and `decoder.` (self-attention, the decoder's cross-attention `EncDecAttention`, the
 * feed-forward `DenseReluDense`, each after its RMS `layer_norm`), each stack's
 * `final_layer_norm`, the relative-position bias table of each stack's block 0, and `lm_head` when
 * the head is untied. Linear weights are stored [out, in]; q, k and v of a self-attention are
 * joined into one matMul, k and v of a cross-attention into another, and a gated feed-forward's
 * wi_0 and wi_1 into a third.
 */
import type { HostTensor } from '../safetensors.js';
import type { tf } from '../tf.js';
import { countFloats, matchTensorNames, stackRows } from './checkpoint-names.js';
import type { FrozenLinear } from './frozen-linear.js';
import type { WeightSource } from './model-weights-file.js';
import type { T5Config } from './t5-config.js';
import type { FrozenEmbedding, WeightBytes, WeightPlacement } from './weight-placement.js';

export interface T5FeedForwardWeights {
  readonly norm: tf.Tensor1D;
  /** wi (relu), or [wi_0 | wi_1] (gated-gelu): (d → d_ff) or (d → 2·d_ff). */
  readonly wi: FrozenLinear;
  readonly wo: FrozenLinear;
}

export interface T5EncoderBlockWeights {
  readonly selfNorm: tf.Tensor1D;
  /** [q | k | v] (d → 3·inner). */
  readonly selfQkv: FrozenLinear;
  readonly selfOutput: FrozenLinear;
  readonly feedForward: T5FeedForwardWeights;
}

export interface T5DecoderBlockWeights extends T5EncoderBlockWeights {
  readonly crossNorm: tf.Tensor1D;
  readonly crossQuery: FrozenLinear;
  /** [k | v] of the encoder's output (d → 2·inner). */
  readonly crossKv: FrozenLinear;
  readonly crossOutput: FrozenLinear;
}

export interface T5Weights {
  readonly embedding: FrozenEmbedding;
  /** lm_head, or the tied embedding (the model rescales by d^−0.5 before it). */
  readonly head: FrozenLinear;
  readonly encoder: readonly T5EncoderBlockWeights[];
  readonly decoder: readonly T5DecoderBlockWeights[];
  readonly encoderFinalNorm: tf.Tensor1D;
  readonly decoderFinalNorm: tf.Tensor1D;
  /** [buckets, H] of each stack, read on the host to build the bias of a batch's positions. */
  readonly encoderBias: HostTensor;
  readonly decoderBias: HostTensor;
}

/** Stored by some checkpoints but not weights of their own: each stack's copy of `shared`, and a tied head. */
const ignored = (c: T5Config) => [/^(encoder|decoder)\.embed_tokens\.weight$/, ...(c.tiedHead ? [/^lm_head\.weight$/] : [])];

const feedForwardNames = (c: T5Config) => (c.feedForward === 'gated-gelu' ? ['wi_0', 'wi_1'] : ['wi']);

function expectedShapes(c: T5Config): Map<string, number[]> {
  const { hiddenSize: d, innerSize: ff, relativeBuckets, numHeads: H } = c;
  const inner = H * c.headSize;
  const shapes = new Map<string, number[]>([
    ['shared.weight', [c.vocabSize, d]],
    ['encoder.final_layer_norm.weight', [d]],
    ['decoder.final_layer_norm.weight', [d]],
    ['encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight', [relativeBuckets, H]],
    ['decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight', [relativeBuckets, H]],
  ]);
  if (!c.tiedHead) shapes.set('lm_head.weight', [c.vocabSize, d]);
  const attention = (prefix: string) => {
    for (const name of ['q', 'k', 'v']) shapes.set(`${prefix}.${name}.weight`, [inner, d]);
    shapes.set(`${prefix}.o.weight`, [d, inner]);
  };
  const feedForward = (prefix: string) => {
    for (const name of feedForwardNames(c)) shapes.set(`${prefix}.DenseReluDense.${name}.weight`, [ff, d]);
    shapes.set(`${prefix}.DenseReluDense.wo.weight`, [d, ff]);
    shapes.set(`${prefix}.layer_norm.weight`, [d]);
  };
  for (let i = 0; i < c.numLayers; i++) {
    attention(`encoder.block.${i}.layer.0.SelfAttention`);
    shapes.set(`encoder.block.${i}.layer.0.layer_norm.weight`, [d]);
    feedForward(`encoder.block.${i}.layer.1`);
  }
  for (let i = 0; i < c.numDecoderLayers; i++) {
    attention(`decoder.block.${i}.layer.0.SelfAttention`);
    shapes.set(`decoder.block.${i}.layer.0.layer_norm.weight`, [d]);
    attention(`decoder.block.${i}.layer.1.EncDecAttention`);
    shapes.set(`decoder.block.${i}.layer.1.layer_norm.weight`, [d]);
    feedForward(`decoder.block.${i}.layer.2`);
  }
  return shapes;
}

/** float32 bytes of a T5's weights, from its config alone. */
export function t5WeightBytes(config: T5Config): WeightBytes {
  const { total, matrices } = countFloats(expectedShapes(config), (name) => /(Attention\.[qkvo]|DenseReluDense\.w\w+|shared|lm_head)\.weight$/.test(name));
  return { total: total * 4, matrices: matrices * 4 };
}

/** Reads every weight into `placement`, which the caller disposes (on failure too). */
export function importT5Weights(file: WeightSource, config: T5Config, placement: WeightPlacement): T5Weights {
  const fileNames = matchTensorNames(file, expectedShapes(config), { bare: (name) => name, ignored: ignored(config) });
  const read = (name: string) => file.readFloat32(fileNames.get(name)!);
  const linear = (prefix: string, names: readonly string[]) => placement.linear(stackRows(names.map((name) => read(`${prefix}.${name}.weight`))), null, 'out-in');
  const norm = (name: string) => placement.tensor<tf.Tensor1D>(read(name));
  const feedForward = (prefix: string): T5FeedForwardWeights => ({
    norm: norm(`${prefix}.layer_norm.weight`),
    wi: linear(`${prefix}.DenseReluDense`, feedForwardNames(config)),
    wo: linear(`${prefix}.DenseReluDense`, ['wo']),
  });
  const selfAttention = (block: string) => ({
    selfNorm: norm(`${block}.layer.0.layer_norm.weight`),
    selfQkv: linear(`${block}.layer.0.SelfAttention`, ['q', 'k', 'v']),
    selfOutput: linear(`${block}.layer.0.SelfAttention`, ['o']),
  });
  const embedding = placement.embedding(read('shared.weight'));
  return {
    embedding,
    head: config.tiedHead ? embedding.tiedHead() : placement.linear(read('lm_head.weight'), null, 'out-in'),
    encoder: Array.from({ length: config.numLayers }, (_, i) => ({ ...selfAttention(`encoder.block.${i}`), feedForward: feedForward(`encoder.block.${i}.layer.1`) })),
    decoder: Array.from({ length: config.numDecoderLayers }, (_, i) => ({
      ...selfAttention(`decoder.block.${i}`),
      crossNorm: norm(`decoder.block.${i}.layer.1.layer_norm.weight`),
      crossQuery: linear(`decoder.block.${i}.layer.1.EncDecAttention`, ['q']),
      crossKv: linear(`decoder.block.${i}.layer.1.EncDecAttention`, ['k', 'v']),
      crossOutput: linear(`decoder.block.${i}.layer.1.EncDecAttention`, ['o']),
      feedForward: feedForward(`decoder.block.${i}.layer.2`),
    })),
    encoderFinalNorm: norm('encoder.final_layer_norm.weight'),
    decoderFinalNorm: norm('decoder.final_layer_norm.weight'),
    encoderBias: read('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'),
    decoderBias: read('decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'),
  };
}
