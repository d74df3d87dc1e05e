/**
 * Writes a Llama-family folder of a real size with random weights, in the layout Hugging Face's
 * `save_pretrained` writes: the published config.json and generation_config.json, the tokenizer
 * files, and the weights as `model.safetensors` or, past one shard, as
 * `model-0000k-of-0000n.safetensors` with `model.safetensors.index.json`. For benchmarks only:
 * the compute of a step is the real checkpoint's, its numbers are not. Never commit the output.
 *
 *   npm run bench:write-llama -- --size smollm2-135m|tinyllama-1.1b|qwen2.5-0.5b --out DIR
 *                                [--dtype F32|F16|BF16] [--shard-mb 2000] [--tokenizer DIR] [--seed N]
 *
 * The tokenizer is by default tiny-llama-random's byte-level BPE (8,192 ids), not the model's
 * own: every id it produces is below the real vocabulary size, which is all a benchmark needs,
 * and config.json keeps the real vocabulary (the embedding and head cost what they really cost).
 * The special-token ids (bos, eos, pad) must name that tokenizer's tokens, not the real one's: they
 * come from the tokenizer folder's generation_config.json where it has one (tiny-llama-random's:
 * 8191, `<|endoftext|>`), else they are the published model's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MODELS_DIR } from '../test/helpers/shared.js';
import { ONES, TORCH_DTYPE, ZEROS, copyFiles, parseWriterArgs, uniform, writeJson, writeWeights, type PlannedTensor } from './random-checkpoint.js';

/** The fields of the published config.json that set the shapes. */
interface LlamaShape {
  model_type: 'llama' | 'qwen2';
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  vocab_size: number;
  tie_word_embeddings: boolean;
  initializer_range: number;
}

const LLAMA_DEFAULTS = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_act: 'silu', attention_bias: false, attention_dropout: 0.0,
  mlp_bias: false, pretraining_tp: 1, rope_scaling: null, use_cache: true,
} as const;

/** config.json and generation_config.json as HuggingFaceTB/SmolLM2-135M, TinyLlama/TinyLlama-1.1B and Qwen/Qwen2.5-0.5B publish them. */
const SIZES = {
  'smollm2-135m': {
    config: {
      ...LLAMA_DEFAULTS, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9,
      num_key_value_heads: 3, vocab_size: 49152, max_position_embeddings: 8192, rope_theta: 100000, rms_norm_eps: 1e-5,
      tie_word_embeddings: true, initializer_range: 0.041666666666666664, bos_token_id: 0, eos_token_id: 0,
    },
    generation: { bos_token_id: 0, eos_token_id: 0 },
  },
  'tinyllama-1.1b': {
    config: {
      ...LLAMA_DEFAULTS, hidden_size: 2048, intermediate_size: 5632, num_hidden_layers: 22, num_attention_heads: 32,
      num_key_value_heads: 4, vocab_size: 32000, max_position_embeddings: 2048, rope_theta: 10000.0, rms_norm_eps: 1e-5,
      tie_word_embeddings: false, initializer_range: 0.02, bos_token_id: 1, eos_token_id: 2,
    },
    generation: { bos_token_id: 1, eos_token_id: 2, max_length: 2048, pad_token_id: 0 },
  },
  'qwen2.5-0.5b': {
    config: {
      architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_act: 'silu', attention_dropout: 0.0, use_cache: true,
      hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2,
      vocab_size: 151936, max_position_embeddings: 32768, rope_theta: 1000000.0, rms_norm_eps: 1e-6,
      use_sliding_window: false, sliding_window: 32768, max_window_layers: 24,
      tie_word_embeddings: true, initializer_range: 0.02, bos_token_id: 151643, eos_token_id: 151643,
    },
    generation: { bos_token_id: 151643, eos_token_id: 151643, do_sample: false, max_new_tokens: 2048 },
  },
} as const satisfies Record<string, { config: LlamaShape & { max_position_embeddings: number } & Record<string, unknown>; generation: object }>;
/** Whichever of these the tokenizer folder has (tokenizer.json, or GPT-2's vocab.json + merges.txt, or both). */
const TOKENIZER_FILES = ['tokenizer.json', 'vocab.json', 'merges.txt'];
const SPECIAL_IDS = ['bos_token_id', 'eos_token_id', 'pad_token_id'];

const args = parseWriterArgs(Object.keys(SIZES) as (keyof typeof SIZES)[], join(MODELS_DIR, 'tiny-llama-random'));
const { config, generation } = SIZES[args.size];

/**
 * HF's Llama init (every linear and the embedding normal with std initializer_range, norms at
 * one, biases at zero). Linear weights are stored [out, in]; Qwen2 alone has q/k/v biases.
 */
function plan(shape: LlamaShape): PlannedTensor[] {
  const { hidden_size: d, intermediate_size: inner, num_attention_heads: heads, num_key_value_heads: kvHeads } = shape;
  const headDim = d / heads;
  const weight = uniform(shape.initializer_range);
  const tensors: PlannedTensor[] = [{ name: 'model.embed_tokens.weight', shape: [shape.vocab_size, d], fill: weight }];
  for (let i = 0; i < shape.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    const projections: [string, number][] = [['q', heads * headDim], ['k', kvHeads * headDim], ['v', kvHeads * headDim]];
    for (const [name, out] of projections) {
      tensors.push({ name: `${p}.self_attn.${name}_proj.weight`, shape: [out, d], fill: weight });
      if (shape.model_type === 'qwen2') tensors.push({ name: `${p}.self_attn.${name}_proj.bias`, shape: [out], fill: ZEROS });
    }
    tensors.push(
      { name: `${p}.self_attn.o_proj.weight`, shape: [d, heads * headDim], fill: weight },
      { name: `${p}.mlp.gate_proj.weight`, shape: [inner, d], fill: weight },
      { name: `${p}.mlp.up_proj.weight`, shape: [inner, d], fill: weight },
      { name: `${p}.mlp.down_proj.weight`, shape: [d, inner], fill: weight },
      { name: `${p}.input_layernorm.weight`, shape: [d], fill: ONES },
      { name: `${p}.post_attention_layernorm.weight`, shape: [d], fill: ONES },
    );
  }
  tensors.push({ name: 'model.norm.weight', shape: [d], fill: ONES });
  if (!shape.tie_word_embeddings) tensors.push({ name: 'lm_head.weight', shape: [shape.vocab_size, d], fill: weight });
  return tensors;
}

const readOptional = (file: string): Record<string, unknown> => {
  const path = join(args.tokenizer, file);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
};
const tokenizerGeneration = readOptional('generation_config.json');
const specialIds = Object.fromEntries(SPECIAL_IDS.filter((key) => key in tokenizerGeneration).map((key) => [key, tokenizerGeneration[key]]));

const written = writeWeights(args.out, plan(config), args);
writeJson(join(args.out, 'config.json'), { ...config, ...specialIds, torch_dtype: TORCH_DTYPE[args.dtype] });
writeJson(join(args.out, 'generation_config.json'), { ...generation, ...specialIds });
copyFiles(args.tokenizer, args.out, TOKENIZER_FILES.filter((file) => existsSync(join(args.tokenizer, file))));
// The tokenizer's own limit is its tiny model's (128 positions); the folder's is the real model's.
writeJson(join(args.out, 'tokenizer_config.json'), { ...readOptional('tokenizer_config.json'), model_max_length: config.max_position_embeddings });
console.log(`wrote ${args.size} (${config.model_type}, ${(written.parameters / 1e6).toFixed(0)}M parameters, ${args.dtype}, ${written.shards} shard(s)) to ${args.out} in ${written.seconds.toFixed(0)} s`);
