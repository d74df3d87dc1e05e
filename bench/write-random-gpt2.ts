/**
 * Writes a GPT-2 folder of a real size (small 124M, medium 355M, large 774M, xl 1.5B) with random
 * weights, in the layout Hugging Face's `save_pretrained` writes: config.json, the GPT-2 BPE
 * tokenizer files, and the weights as `model.safetensors` or, past one shard, as
 * `model-0000k-of-0000n.safetensors` with `model.safetensors.index.json`. For benchmarks only:
 * the compute of a step is the real checkpoint's, its numbers are not. Never commit the output.
 *
 *   npm run bench:write-gpt2 -- --size large --out DIR [--dtype F32|F16|BF16] [--shard-mb 2000]
 *                               [--tokenizer DIR] [--seed N]
 */
import { join } from 'node:path';
import { MODELS_DIR } from '../test/helpers/shared.js';
import { ONES, TORCH_DTYPE, ZEROS, copyFiles, parseWriterArgs, uniform, writeJson, writeWeights, type PlannedTensor } from './random-checkpoint.js';

/** The published GPT-2 shapes (vocabulary 50,257, 1,024 positions). */
const SIZES = {
  small: { n_embd: 768, n_layer: 12, n_head: 12 },
  medium: { n_embd: 1024, n_layer: 24, n_head: 16 },
  large: { n_embd: 1280, n_layer: 36, n_head: 20 },
  xl: { n_embd: 1600, n_layer: 48, n_head: 25 },
} as const;
const VOCAB = 50257;
const POSITIONS = 1024;

const args = parseWriterArgs(Object.keys(SIZES) as (keyof typeof SIZES)[], join(MODELS_DIR, 'gpt2-tokenizer'));
const shape = SIZES[args.size];

/** HF's GPT-2 init: normal, std 0.02; residual projections scaled by 1/√(2·layers). Conv1D weights are stored [in, out]. */
function plan(): PlannedTensor[] {
  const { n_embd: d, n_layer: layers } = shape;
  const weight = uniform(0.02);
  const residual = uniform(0.02 / Math.sqrt(2 * layers));
  const tensors: PlannedTensor[] = [
    { name: 'transformer.wte.weight', shape: [VOCAB, d], fill: weight },
    { name: 'transformer.wpe.weight', shape: [POSITIONS, d], fill: uniform(0.01) },
  ];
  for (let i = 0; i < layers; i++) {
    const p = `transformer.h.${i}`;
    tensors.push(
      { name: `${p}.ln_1.weight`, shape: [d], fill: ONES }, { name: `${p}.ln_1.bias`, shape: [d], fill: ZEROS },
      { name: `${p}.attn.c_attn.weight`, shape: [d, 3 * d], fill: weight }, { name: `${p}.attn.c_attn.bias`, shape: [3 * d], fill: ZEROS },
      { name: `${p}.attn.c_proj.weight`, shape: [d, d], fill: residual }, { name: `${p}.attn.c_proj.bias`, shape: [d], fill: ZEROS },
      { name: `${p}.ln_2.weight`, shape: [d], fill: ONES }, { name: `${p}.ln_2.bias`, shape: [d], fill: ZEROS },
      { name: `${p}.mlp.c_fc.weight`, shape: [d, 4 * d], fill: weight }, { name: `${p}.mlp.c_fc.bias`, shape: [4 * d], fill: ZEROS },
      { name: `${p}.mlp.c_proj.weight`, shape: [4 * d, d], fill: residual }, { name: `${p}.mlp.c_proj.bias`, shape: [d], fill: ZEROS },
    );
  }
  tensors.push({ name: 'transformer.ln_f.weight', shape: [d], fill: ONES }, { name: 'transformer.ln_f.bias', shape: [d], fill: ZEROS });
  return tensors;
}

const written = writeWeights(args.out, plan(), args);
writeJson(join(args.out, 'config.json'), {
  architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', activation_function: 'gelu_new',
  vocab_size: VOCAB, n_positions: POSITIONS, n_ctx: POSITIONS, ...shape, n_inner: null,
  layer_norm_epsilon: 1e-5, bos_token_id: 50256, eos_token_id: 50256, tie_word_embeddings: true,
  scale_attn_weights: true, torch_dtype: TORCH_DTYPE[args.dtype],
});
copyFiles(args.tokenizer, args.out, ['vocab.json', 'merges.txt']);
console.log(`wrote GPT-2 ${args.size} (${(written.parameters / 1e6).toFixed(0)}M parameters, ${args.dtype}, ${written.shards} shard(s)) to ${args.out} in ${written.seconds.toFixed(0)} s`);
