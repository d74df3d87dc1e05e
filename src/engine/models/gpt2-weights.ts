/**
 * Imports a Hugging Face GPT-2 checkpoint. Names may carry the `transformer.` prefix or not;
 * Conv1D weights are already [in, out], so none is transposed for the forward pass. Every
 * expected tensor must be present with its exact shape, and nothing else may be (checkpoint-
 * names.ts). Each tensor is read and handed to the placement one at a time, so loading holds no
 * second copy of the model.
 */
import type { tf } from '../tf.js';
import { countFloats, matchTensorNames } from './checkpoint-names.js';
import type { FrozenLinear } from './frozen-linear.js';
import type { Gpt2Config } from './gpt2-config.js';
import type { WeightSource } from './model-weights-file.js';
import type { FrozenEmbedding, WeightBytes, WeightPlacement } from './weight-placement.js';

export interface LayerNormWeights {
  readonly gamma: tf.Tensor1D;
  readonly beta: tf.Tensor1D;
}

export interface Gpt2BlockWeights {
  readonly ln1: LayerNormWeights;
  readonly attnQkv: FrozenLinear;
  readonly attnProj: FrozenLinear;
  readonly ln2: LayerNormWeights;
  readonly mlpFc: FrozenLinear;
  readonly mlpProj: FrozenLinear;
}

export interface Gpt2Weights {
  /** wte [V, d], also the tied output head. */
  readonly embedding: FrozenEmbedding;
  readonly head: FrozenLinear;
  /** [P, d] */
  readonly wpe: tf.Tensor2D;
  readonly blocks: readonly Gpt2BlockWeights[];
  readonly lnF: LayerNormWeights;
}

const PREFIX = 'transformer.';
/** Stored by some checkpoints but not weights: HF's causal-mask buffers, and the tied head. */
const NAME_RULES = {
  bare: (fileName: string) => (fileName.startsWith(PREFIX) ? fileName.slice(PREFIX.length) : fileName),
  ignored: [/^h\.\d+\.attn\.(masked_)?bias$/, /^lm_head\.weight$/],
};

function expectedShapes(c: Gpt2Config): Map<string, number[]> {
  const d = c.hiddenSize;
  const shapes = new Map<string, number[]>([
    ['wte.weight', [c.vocabSize, d]],
    ['wpe.weight', [c.maxPositions, d]],
    ['ln_f.weight', [d]],
    ['ln_f.bias', [d]],
  ]);
  for (let i = 0; i < c.numLayers; i++) {
    const block: Array<[string, number[]]> = [
      ['ln_1.weight', [d]], ['ln_1.bias', [d]],
      ['attn.c_attn.weight', [d, 3 * d]], ['attn.c_attn.bias', [3 * d]],
      ['attn.c_proj.weight', [d, d]], ['attn.c_proj.bias', [d]],
      ['ln_2.weight', [d]], ['ln_2.bias', [d]],
      ['mlp.c_fc.weight', [d, c.innerSize]], ['mlp.c_fc.bias', [c.innerSize]],
      ['mlp.c_proj.weight', [c.innerSize, d]], ['mlp.c_proj.bias', [d]],
    ];
    for (const [name, shape] of block) shapes.set(`h.${i}.${name}`, shape);
  }
  return shapes;
}

/** float32 bytes of a GPT-2's weights, from its config alone. */
export function gpt2WeightBytes(config: Gpt2Config): WeightBytes {
  const { total, matrices } = countFloats(expectedShapes(config), (name) => name === 'wte.weight' || /\.c_(attn|proj|fc)\.weight$/.test(name)); // wte is also the head
  return { total: total * 4, matrices: matrices * 4 };
}

/** Reads every GPT-2 weight into `placement`, which the caller disposes (on failure too). */
export function importGpt2Weights(file: WeightSource, config: Gpt2Config, placement: WeightPlacement): Gpt2Weights {
  const fileNames = matchTensorNames(file, expectedShapes(config), NAME_RULES);
  const read = (bare: string) => file.readFloat32(fileNames.get(bare)!);
  const layerNorm = (prefix: string): LayerNormWeights => ({ gamma: placement.tensor(read(`${prefix}.weight`)), beta: placement.tensor(read(`${prefix}.bias`)) });
  const linear = (prefix: string): FrozenLinear => placement.linear(read(`${prefix}.weight`), read(`${prefix}.bias`), 'in-out');
  const embedding = placement.embedding(read('wte.weight'));
  return {
    embedding,
    head: embedding.tiedHead(),
    wpe: placement.tensor(read('wpe.weight')),
    blocks: Array.from({ length: config.numLayers }, (_, i) => ({
      ln1: layerNorm(`h.${i}.ln_1`),
      attnQkv: linear(`h.${i}.attn.c_attn`),
      attnProj: linear(`h.${i}.attn.c_proj`),
      ln2: layerNorm(`h.${i}.ln_2`),
      mlpFc: linear(`h.${i}.mlp.c_fc`),
      mlpProj: linear(`h.${i}.mlp.c_proj`),
    })),
    lnF: layerNorm('ln_f'),
  };
}
