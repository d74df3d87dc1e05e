/**
 * Writes a GPT-2 folder of a real size (small 124M, medium 355M, large 774M, xl 1.5B) with random
 * weights, in the layout Hugging Face's `save_pretrained` writes: config.json, the GPT-2 BPE
 * tokenizer files, and the weights as `model.safetensors` or, past one shard, as
 * `model-0000k-of-0000n.safetensors` with `model.safetensors.index.json`. For benchmarks only:
 * the compute of a step is the real checkpoint's, its numbers are not. Never commit the output.
 *
 *   npm run bench:write-gpt2 -- --size large --out DIR [--dtype F32|F16|BF16] [--shard-mb 2000]
 *                               [--tokenizer DIR] [--seed N]
 *
 * Tensors are generated and written piece by piece, so memory stays small at any size.
 */
import { closeSync, copyFileSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../src/engine/random.js';
import { MODELS_DIR } from '../test/helpers/shared.js';

/** The published GPT-2 shapes (vocabulary 50,257, 1,024 positions). */
const SIZES = {
  small: { n_embd: 768, n_layer: 12, n_head: 12 },
  medium: { n_embd: 1024, n_layer: 24, n_head: 16 },
  large: { n_embd: 1280, n_layer: 36, n_head: 20 },
  xl: { n_embd: 1600, n_layer: 48, n_head: 25 },
} as const;
const VOCAB = 50257;
const POSITIONS = 1024;
const DTYPE_BYTES = { F32: 4, F16: 2, BF16: 2 } as const;
type Dtype = keyof typeof DTYPE_BYTES;

const { values: args } = parseArgs({
  options: {
    size: { type: 'string' },
    out: { type: 'string' },
    dtype: { type: 'string', default: 'F32' },
    'shard-mb': { type: 'string', default: '2000' },
    tokenizer: { type: 'string', default: join(MODELS_DIR, 'gpt2-tokenizer') },
    seed: { type: 'string', default: '0' },
  },
});
const shape = SIZES[args.size as keyof typeof SIZES];
if (!shape || !args.out) {
  console.error(`usage: --size ${Object.keys(SIZES).join('|')} --out DIR [--dtype F32|F16|BF16] [--shard-mb N] [--tokenizer DIR] [--seed N]`);
  process.exit(2);
}
const dtype = args.dtype as Dtype;
if (!(dtype in DTYPE_BYTES)) throw new Error(`--dtype must be one of ${Object.keys(DTYPE_BYTES).join(', ')}`);
const shardBytes = Number(args['shard-mb']) * 1e6;

/** How a tensor is filled: HF's GPT-2 init (normal, std 0.02; residual projections scaled by 1/√(2·layers)) as a uniform of the same std. */
type Fill = { kind: 'uniform'; std: number } | { kind: 'constant'; value: number };
interface Planned { name: string; shape: number[]; fill: Fill }

function plan(): Planned[] {
  const { n_embd: d, n_layer: layers } = shape;
  const weight = { kind: 'uniform', std: 0.02 } as const;
  const residual = { kind: 'uniform', std: 0.02 / Math.sqrt(2 * layers) } as const;
  const ones = { kind: 'constant', value: 1 } as const;
  const zeros = { kind: 'constant', value: 0 } as const;
  const tensors: Planned[] = [
    { name: 'transformer.wte.weight', shape: [VOCAB, d], fill: weight },
    { name: 'transformer.wpe.weight', shape: [POSITIONS, d], fill: { kind: 'uniform', std: 0.01 } },
  ];
  for (let i = 0; i < layers; i++) {
    const p = `transformer.h.${i}`;
    tensors.push(
      { name: `${p}.ln_1.weight`, shape: [d], fill: ones }, { name: `${p}.ln_1.bias`, shape: [d], fill: zeros },
      { name: `${p}.attn.c_attn.weight`, shape: [d, 3 * d], fill: weight }, { name: `${p}.attn.c_attn.bias`, shape: [3 * d], fill: zeros },
      { name: `${p}.attn.c_proj.weight`, shape: [d, d], fill: residual }, { name: `${p}.attn.c_proj.bias`, shape: [d], fill: zeros },
      { name: `${p}.ln_2.weight`, shape: [d], fill: ones }, { name: `${p}.ln_2.bias`, shape: [d], fill: zeros },
      { name: `${p}.mlp.c_fc.weight`, shape: [d, 4 * d], fill: weight }, { name: `${p}.mlp.c_fc.bias`, shape: [4 * d], fill: zeros },
      { name: `${p}.mlp.c_proj.weight`, shape: [4 * d, d], fill: residual }, { name: `${p}.mlp.c_proj.bias`, shape: [d], fill: zeros },
    );
  }
  tensors.push({ name: 'transformer.ln_f.weight', shape: [d], fill: ones }, { name: 'transformer.ln_f.bias', shape: [d], fill: zeros });
  return tensors;
}

const count = (dims: readonly number[]) => dims.reduce((p, n) => p * n, 1);

/** Groups tensors into shards of at most `shardBytes` (a larger tensor gets a shard of its own), in order, as HF does. */
function shard(tensors: Planned[]): Planned[][] {
  const shards: Planned[][] = [[]];
  let bytes = 0;
  for (const tensor of tensors) {
    const size = count(tensor.shape) * DTYPE_BYTES[dtype];
    if (bytes + size > shardBytes && shards.at(-1)!.length) {
      shards.push([]);
      bytes = 0;
    }
    shards.at(-1)!.push(tensor);
    bytes += size;
  }
  return shards;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half of a float32, rounded to nearest even (subnormals included). */
function halfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = ((x >>> 23) & 0xff) - 127 + 15;
  const mantissa = x & 0x7fffff;
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    const significand = mantissa | 0x800000;
    const shift = 14 - exponent; // half subnormals count units of 2^-24
    const truncated = significand >>> shift;
    const remainder = significand & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    return sign | (remainder > halfway || (remainder === halfway && truncated & 1) ? truncated + 1 : truncated);
  }
  const half = sign | (exponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  return rest > 0x1000 || (rest === 0x1000 && half & 1) ? half + 1 : half;
}

/** The top half of a float32, rounded to nearest even. */
function bfloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

const CHUNK = 1 << 20;

/** Writes one tensor's values, generated CHUNK at a time. */
function writeTensor(fd: number, tensor: Planned, rng: Rng): void {
  const total = count(tensor.shape);
  const bytes = Buffer.alloc(Math.min(total, CHUNK) * DTYPE_BYTES[dtype]);
  const halfRange = tensor.fill.kind === 'uniform' ? tensor.fill.std * Math.sqrt(3) : 0;
  for (let start = 0; start < total; start += CHUNK) {
    const n = Math.min(CHUNK, total - start);
    for (let i = 0; i < n; i++) {
      const value = tensor.fill.kind === 'constant' ? tensor.fill.value : (rng.next() * 2 - 1) * halfRange;
      if (dtype === 'F32') bytes.writeFloatLE(value, i * 4);
      else bytes.writeUInt16LE(dtype === 'F16' ? halfBits(value) : bfloat16Bits(value), i * 2);
    }
    writeSync(fd, bytes, 0, n * DTYPE_BYTES[dtype]);
  }
}

function writeShard(path: string, tensors: Planned[], rng: Rng): number {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const tensor of tensors) {
    const size = count(tensor.shape) * DTYPE_BYTES[dtype];
    header[tensor.name] = { dtype, shape: tensor.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, prefix);
    writeSync(fd, json);
    for (const tensor of tensors) writeTensor(fd, tensor, rng);
  } finally {
    closeSync(fd);
  }
  return offset;
}

const out = args.out;
mkdirSync(out, { recursive: true });
const config = {
  architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', activation_function: 'gelu_new',
  vocab_size: VOCAB, n_positions: POSITIONS, n_ctx: POSITIONS, ...shape, n_inner: null,
  layer_norm_epsilon: 1e-5, bos_token_id: 50256, eos_token_id: 50256, tie_word_embeddings: true,
  scale_attn_weights: true, torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[dtype],
};
writeFileSync(join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
for (const file of ['vocab.json', 'merges.txt']) copyFileSync(join(args.tokenizer, file), join(out, file));

const rng = new Rng(Number(args.seed));
const shards = shard(plan());
const started = Date.now();
if (shards.length === 1) {
  writeShard(join(out, 'model.safetensors'), shards[0]!, rng);
} else {
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  shards.forEach((tensors, i) => {
    const file = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    totalSize += writeShard(join(out, file), tensors, rng);
    for (const { name } of tensors) weightMap[name] = file;
  });
  writeFileSync(join(out, 'model.safetensors.index.json'), `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)}\n`);
}
const parameters = plan().reduce((sum, t) => sum + count(t.shape), 0);
console.log(`wrote GPT-2 ${args.size} (${(parameters / 1e6).toFixed(0)}M parameters, ${dtype}, ${shards.length} shard(s)) to ${out} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
