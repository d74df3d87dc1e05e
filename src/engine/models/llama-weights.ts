/**
 * Imports a Hugging Face Llama-family checkpoint (LlamaForCausalLM, Qwen2ForCausalLM,
 * MistralForCausalLM): `model.embed_tokens.weight`, `model.layers.{i}.self_attn.{q,k,v,o}_proj`,
 * `model.layers.{i}.mlp.{gate,up,down}_proj`, the two RMS norms of each layer, `model.norm`, and
 * `lm_head.weight` unless the head is tied. Linear weights are stored [out, in]. Each layer's q, k
 * and v are joined into one [q | k | v] matrix, and gate and up into one [gate | up], so that each
 * is one matMul: for [out, in] matrices that is stacking their rows, one layer's worth of copying
 * at a time while loading.
 */
import type { tf } from '../tf.js';
import { countFloats, matchTensorNames, stackRows } from './checkpoint-names.js';
import type { FrozenLinear } from './frozen-linear.js';
import type { LlamaConfig } from './llama-config.js';
import type { WeightSource } from './model-weights-file.js';
import type { FrozenEmbedding, WeightBytes, WeightPlacement } from './weight-placement.js';

export interface LlamaLayerWeights {
  readonly inputNorm: tf.Tensor1D;
  /** [q | k | v] rows (H·hs + 2·KV·hs) of the normalised input. */
  readonly qkv: FrozenLinear;
  readonly output: FrozenLinear;
  readonly postAttentionNorm: tf.Tensor1D;
  /** [gate | up] (2·inner). */
  readonly gateUp: FrozenLinear;
  readonly down: FrozenLinear;
}

export interface LlamaWeights {
  readonly embedding: FrozenEmbedding;
  readonly head: FrozenLinear;
  readonly layers: readonly LlamaLayerWeights[];
  readonly finalNorm: tf.Tensor1D;
}

/** Stored by some checkpoints but not weights: old rotary buffers, and a copy of a tied head. */
const ignoredNames = (c: LlamaConfig) => [/^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/, ...(c.tiedHead ? [/^lm_head\.weight$/] : [])];
const NAME_RULES = (c: LlamaConfig) => ({ bare: (name: string) => name, ignored: ignoredNames(c) });

const layerName = (i: number, name: string) => `model.layers.${i}.${name}`;

function expectedShapes(c: LlamaConfig): Map<string, number[]> {
  const { hiddenSize: d, innerSize: I, headSize: hs } = c;
  const [q, kv] = [c.numHeads * hs, c.numKvHeads * hs];
  const shapes = new Map<string, number[]>([['model.embed_tokens.weight', [c.vocabSize, d]], ['model.norm.weight', [d]]]);
  if (!c.tiedHead) shapes.set('lm_head.weight', [c.vocabSize, d]);
  for (let i = 0; i < c.numLayers; i++) {
    const layer: Array<[string, number[], boolean]> = [
      ['input_layernorm.weight', [d], true],
      ['self_attn.q_proj.weight', [q, d], true], ['self_attn.q_proj.bias', [q], c.qkvBias],
      ['self_attn.k_proj.weight', [kv, d], true], ['self_attn.k_proj.bias', [kv], c.qkvBias],
      ['self_attn.v_proj.weight', [kv, d], true], ['self_attn.v_proj.bias', [kv], c.qkvBias],
      ['self_attn.o_proj.weight', [d, q], true], ['self_attn.o_proj.bias', [d], c.outputBias],
      ['post_attention_layernorm.weight', [d], true],
      ['mlp.gate_proj.weight', [I, d], true], ['mlp.gate_proj.bias', [I], c.mlpBias],
      ['mlp.up_proj.weight', [I, d], true], ['mlp.up_proj.bias', [I], c.mlpBias],
      ['mlp.down_proj.weight', [d, I], true], ['mlp.down_proj.bias', [d], c.mlpBias],
    ];
    for (const [name, shape, present] of layer) if (present) shapes.set(layerName(i, name), shape);
  }
  return shapes;
}

/** float32 bytes of a Llama-family model's weights, from its config alone. */
export function llamaWeightBytes(config: LlamaConfig): WeightBytes {
  const { total, matrices } = countFloats(expectedShapes(config), (name) => /(_proj|embed_tokens|lm_head)\.weight$/.test(name));
  return { total: total * 4, matrices: matrices * 4 };
}

/** Reads every weight into `placement`, which the caller disposes (on failure too). */
export function importLlamaWeights(file: WeightSource, config: LlamaConfig, placement: WeightPlacement): LlamaWeights {
  const fileNames = matchTensorNames(file, expectedShapes(config), NAME_RULES(config));
  const read = (name: string) => file.readFloat32(fileNames.get(name)!);
  /** One linear layer of the projections `names` (of layer i) side by side, with their biases when `biased`. */
  const linear = (i: number, names: readonly string[], biased: boolean): FrozenLinear => {
    const weight = stackRows(names.map((name) => read(layerName(i, `${name}.weight`))));
    const bias = biased ? stackRows(names.map((name) => read(layerName(i, `${name}.bias`)))) : null;
    return placement.linear(weight, bias, 'out-in');
  };
  const embedding = placement.embedding(read('model.embed_tokens.weight'));
  return {
    embedding,
    head: config.tiedHead ? embedding.tiedHead() : placement.linear(read('lm_head.weight'), null, 'out-in'),
    layers: Array.from({ length: config.numLayers }, (_, i) => ({
      inputNorm: placement.tensor<tf.Tensor1D>(read(layerName(i, 'input_layernorm.weight'))),
      qkv: linear(i, ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'], config.qkvBias),
      output: linear(i, ['self_attn.o_proj'], config.outputBias),
      postAttentionNorm: placement.tensor<tf.Tensor1D>(read(layerName(i, 'post_attention_layernorm.weight'))),
      gateUp: linear(i, ['mlp.gate_proj', 'mlp.up_proj'], config.mlpBias),
      down: linear(i, ['mlp.down_proj'], config.mlpBias),
    })),
    finalNorm: placement.tensor<tf.Tensor1D>(read('model.norm.weight')),
  };
}
