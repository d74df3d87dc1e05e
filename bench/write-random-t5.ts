/**
 * Writes a T5 folder (T5ForConditionalGeneration) of a real size with random weights, in the
 * layout Hugging Face's `save_pretrained` writes: the published config.json and
 * generation_config.json, the tokenizer files, and the weights as `model.safetensors` or, past one
 * shard, as `model-0000k-of-0000n.safetensors` with `model.safetensors.index.json`. For benchmarks
 * only: the compute of a step is the real checkpoint's, its numbers are not. Never commit the output.
 *
 *   npm run bench:write-t5 -- --size flan-t5-base|t5-base|t5-small --out DIR
 *                             [--dtype F32|F16|BF16] [--shard-mb 2000] [--tokenizer DIR] [--seed N]
 *
 * flan-t5-base is the T5 v1.1 / flan layout (gated-gelu feed-forward wi_0 / wi_1 / wo, untied
 * `lm_head`); t5-base and t5-small are the original T5 (relu feed-forward wi / wo, head tied to
 * `shared`, decoder output scaled by d_model^-0.5 before it). The tokenizer is by default
 * tiny-t5-random's SentencePiece Unigram (1,000 ids), not the model's own: every id it produces is
 * below the real vocabulary size (32,128), which is all a benchmark needs, and config.json keeps
 * the real vocabulary. Its special-token ids (pad = decoder start = 0, eos = 1) are T5's own; they
 * come from the tokenizer folder's generation_config.json where it has one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MODELS_DIR } from '../test/helpers/shared.js';
import { ONES, TORCH_DTYPE, copyFiles, parseWriterArgs, uniform, writeJson, writeWeights, type PlannedTensor } from './random-checkpoint.js';

/** The fields of the published config.json that set the shapes. */
interface T5Shape {
  d_model: number;
  d_kv: number;
  d_ff: number;
  num_layers: number;
  num_decoder_layers: number;
  num_heads: number;
  vocab_size: number;
  relative_attention_num_buckets: number;
  feed_forward_proj: 'relu' | 'gated-gelu';
  tie_word_embeddings: boolean;
  initializer_factor: number;
}

const T5_DEFAULTS = {
  architectures: ['T5ForConditionalGeneration'], model_type: 't5', vocab_size: 32128, n_positions: 512,
  relative_attention_num_buckets: 32, relative_attention_max_distance: 128, layer_norm_epsilon: 1e-6, dropout_rate: 0.1,
  initializer_factor: 1.0, is_encoder_decoder: true, decoder_start_token_id: 0, pad_token_id: 0, eos_token_id: 1, use_cache: true,
} as const;
const RELU = { feed_forward_proj: 'relu', dense_act_fn: 'relu', is_gated_act: false, tie_word_embeddings: true } as const;
const GATED_GELU = { feed_forward_proj: 'gated-gelu', dense_act_fn: 'gelu_new', is_gated_act: true, tie_word_embeddings: false } as const;
const GENERATION = { decoder_start_token_id: 0, eos_token_id: 1, pad_token_id: 0 };

/** config.json and generation_config.json as google/flan-t5-base, google-t5/t5-base and google-t5/t5-small publish them (task_specific_params left out). */
const SIZES = {
  'flan-t5-base': {
    config: { ...T5_DEFAULTS, ...GATED_GELU, d_model: 768, d_kv: 64, d_ff: 2048, num_layers: 12, num_decoder_layers: 12, num_heads: 12 },
    generation: GENERATION,
  },
  't5-base': {
    config: { ...T5_DEFAULTS, ...RELU, d_model: 768, d_kv: 64, d_ff: 3072, num_layers: 12, num_decoder_layers: 12, num_heads: 12 },
    generation: GENERATION,
  },
  't5-small': {
    config: { ...T5_DEFAULTS, ...RELU, d_model: 512, d_kv: 64, d_ff: 2048, num_layers: 6, num_decoder_layers: 6, num_heads: 8 },
    generation: GENERATION,
  },
} as const satisfies Record<string, { config: T5Shape & Record<string, unknown>; generation: object }>;
const TOKENIZER_FILES = ['spiece.model', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
const SPECIAL_IDS = ['decoder_start_token_id', 'pad_token_id', 'eos_token_id'];

const args = parseWriterArgs(Object.keys(SIZES) as (keyof typeof SIZES)[], join(MODELS_DIR, 'tiny-t5-random'));
const { config, generation } = SIZES[args.size];

/**
 * HF's T5 init (`T5PreTrainedModel._init_weights`, factor f = initializer_factor): `shared` and an
 * untied `lm_head` normal with std f; q with std f·(d_model·d_kv)^-½, k and v f·d_model^-½, o
 * f·(heads·d_kv)^-½; the relative-attention tables f·d_model^-½; wi / wi_0 / wi_1 f·d_model^-½, wo
 * f·d_ff^-½; layer norms at one. Linear weights are stored [out, in]; no biases anywhere. Tensors
 * are listed in the order of HF's state dict (each block's layers in order, lm_head last).
 *
 * One departure: an untied `lm_head` gets std f·d_model^-½, not f. Behind a final norm of ones,
 * std f gives logits of std √d_model (≈ 28 at 768), so the softmax saturates and its gradients
 * underflow into denormal floats, whose arithmetic is up to ~100× slower on x86 CPUs (in OpenBLAS
 * and PyTorch alike, by different amounts): a step would time the denormal path, not the model.
 * Trained checkpoints give logits of a few units, as this std does.
 */
function plan(shape: T5Shape): PlannedTensor[] {
  const { d_model: d, d_kv: dKv, d_ff: dFf, num_heads: heads, initializer_factor: f } = shape;
  const inner = heads * dKv;
  const tensors: PlannedTensor[] = [{ name: 'shared.weight', shape: [shape.vocab_size, d], fill: uniform(f) }];
  const attention = (p: string, relativeBias: boolean) => {
    tensors.push(
      { name: `${p}.q.weight`, shape: [inner, d], fill: uniform(f * (d * dKv) ** -0.5) },
      { name: `${p}.k.weight`, shape: [inner, d], fill: uniform(f * d ** -0.5) },
      { name: `${p}.v.weight`, shape: [inner, d], fill: uniform(f * d ** -0.5) },
      { name: `${p}.o.weight`, shape: [d, inner], fill: uniform(f * inner ** -0.5) },
    );
    if (relativeBias) tensors.push({ name: `${p}.relative_attention_bias.weight`, shape: [shape.relative_attention_num_buckets, heads], fill: uniform(f * d ** -0.5) });
  };
  const feedForward = (p: string) => {
    const wi = shape.feed_forward_proj === 'gated-gelu' ? ['wi_0', 'wi_1'] : ['wi'];
    for (const name of wi) tensors.push({ name: `${p}.${name}.weight`, shape: [dFf, d], fill: uniform(f * d ** -0.5) });
    tensors.push({ name: `${p}.wo.weight`, shape: [d, dFf], fill: uniform(f * dFf ** -0.5) });
  };
  const norm = (name: string) => tensors.push({ name, shape: [d], fill: ONES });
  for (let i = 0; i < shape.num_layers; i++) {
    const p = `encoder.block.${i}.layer`;
    attention(`${p}.0.SelfAttention`, i === 0);
    norm(`${p}.0.layer_norm.weight`);
    feedForward(`${p}.1.DenseReluDense`);
    norm(`${p}.1.layer_norm.weight`);
  }
  norm('encoder.final_layer_norm.weight');
  for (let i = 0; i < shape.num_decoder_layers; i++) {
    const p = `decoder.block.${i}.layer`;
    attention(`${p}.0.SelfAttention`, i === 0);
    norm(`${p}.0.layer_norm.weight`);
    attention(`${p}.1.EncDecAttention`, false);
    norm(`${p}.1.layer_norm.weight`);
    feedForward(`${p}.2.DenseReluDense`);
    norm(`${p}.2.layer_norm.weight`);
  }
  norm('decoder.final_layer_norm.weight');
  if (!shape.tie_word_embeddings) tensors.push({ name: 'lm_head.weight', shape: [shape.vocab_size, d], fill: uniform(f * d ** -0.5) });
  return tensors;
}

const generationPath = join(args.tokenizer, 'generation_config.json');
const tokenizerGeneration = existsSync(generationPath) ? (JSON.parse(readFileSync(generationPath, 'utf8')) as Record<string, unknown>) : {};
const specialIds = Object.fromEntries(SPECIAL_IDS.filter((key) => key in tokenizerGeneration).map((key) => [key, tokenizerGeneration[key]]));

const written = writeWeights(args.out, plan(config), args);
writeJson(join(args.out, 'config.json'), { ...config, ...specialIds, torch_dtype: TORCH_DTYPE[args.dtype] });
writeJson(join(args.out, 'generation_config.json'), { ...generation, ...specialIds });
copyFiles(args.tokenizer, args.out, TOKENIZER_FILES.filter((file) => existsSync(join(args.tokenizer, file))));
console.log(`wrote ${args.size} (t5, ${config.feed_forward_proj}, ${config.tie_word_embeddings ? 'tied' : 'untied'} head, ${(written.parameters / 1e6).toFixed(0)}M parameters, ${args.dtype}, ${written.shards} shard(s)) to ${args.out} in ${written.seconds.toFixed(0)} s`);
