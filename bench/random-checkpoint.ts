/**
 * What the random-weight folder writers (write-random-gpt2.ts, write-random-llama.ts,
 * write-random-t5.ts) share: the command line, the safetensors encoding (F32, F16, BF16), and
 * writing a list of planned tensors as Hugging Face's `save_pretrained` does — `model.safetensors`,
 * or past one shard `model-0000k-of-0000n.safetensors` with `model.safetensors.index.json`.
 * Tensors are generated and written piece by piece, so memory stays small at any model size.
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../src/engine/random.js';

const DTYPE_BYTES = { F32: 4, F16: 2, BF16: 2 } as const;
export type Dtype = keyof typeof DTYPE_BYTES;
/** config.json's `torch_dtype` for each stored dtype. */
export const TORCH_DTYPE: Record<Dtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/** How a tensor is filled: a normal init of standard deviation `std` is drawn as a uniform of the same std. */
export type Fill = { kind: 'uniform'; std: number } | { kind: 'constant'; value: number };
export interface PlannedTensor { name: string; shape: number[]; fill: Fill }
export const uniform = (std: number): Fill => ({ kind: 'uniform', std });
export const ONES: Fill = { kind: 'constant', value: 1 };
export const ZEROS: Fill = { kind: 'constant', value: 0 };

export const count = (dims: readonly number[]) => dims.reduce((p, n) => p * n, 1);

export interface WriterArgs<Size extends string> {
  size: Size;
  out: string;
  dtype: Dtype;
  shardBytes: number;
  tokenizer: string;
  seed: number;
}

/** Parses `--size S --out DIR [--dtype F32|F16|BF16] [--shard-mb 2000] [--tokenizer DIR] [--seed N]`; exits 2 with the usage on a missing size or folder. */
export function parseWriterArgs<Size extends string>(sizes: readonly Size[], defaultTokenizer: string): WriterArgs<Size> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string' },
      out: { type: 'string' },
      dtype: { type: 'string', default: 'F32' },
      'shard-mb': { type: 'string', default: '2000' },
      tokenizer: { type: 'string', default: defaultTokenizer },
      seed: { type: 'string', default: '0' },
    },
  });
  if (!sizes.includes(values.size as Size) || !values.out) {
    console.error(`usage: --size ${sizes.join('|')} --out DIR [--dtype F32|F16|BF16] [--shard-mb N] [--tokenizer DIR] [--seed N]`);
    process.exit(2);
  }
  if (!(values.dtype in DTYPE_BYTES)) throw new Error(`--dtype must be one of ${Object.keys(DTYPE_BYTES).join(', ')}`);
  return {
    size: values.size as Size, out: values.out, dtype: values.dtype as Dtype,
    shardBytes: Number(values['shard-mb']) * 1e6, tokenizer: values.tokenizer, seed: Number(values.seed),
  };
}

export function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Copies tokenizer files by content (not mode: the shared folders are read-only, and a rerun must overwrite). */
export function copyFiles(from: string, to: string, files: readonly string[]): void {
  for (const file of files) writeFileSync(join(to, file), readFileSync(join(from, file)));
}

/** Groups tensors into shards of at most `shardBytes` (a larger tensor gets a shard of its own), in order, as HF does. */
function shard(tensors: PlannedTensor[], dtype: Dtype, shardBytes: number): PlannedTensor[][] {
  const shards: PlannedTensor[][] = [[]];
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
function writeTensor(fd: number, tensor: PlannedTensor, dtype: Dtype, rng: Rng): void {
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

/** One safetensors file: u64 header length, the JSON header padded to 8 bytes, then the tensors in order. Returns the data bytes. */
function writeShard(path: string, tensors: PlannedTensor[], dtype: Dtype, rng: Rng): number {
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
    for (const tensor of tensors) writeTensor(fd, tensor, dtype, rng);
  } finally {
    closeSync(fd);
  }
  return offset;
}

export interface WrittenWeights { parameters: number; shards: number; seconds: number }

/** Writes `tensors` into `out` (created if missing) with values from one Rng seeded by `seed`, drawn in tensor order. */
export function writeWeights(out: string, tensors: PlannedTensor[], { dtype, shardBytes, seed }: Pick<WriterArgs<string>, 'dtype' | 'shardBytes' | 'seed'>): WrittenWeights {
  mkdirSync(out, { recursive: true });
  const rng = new Rng(seed);
  const shards = shard(tensors, dtype, shardBytes);
  const started = Date.now();
  if (shards.length === 1) {
    writeShard(join(out, 'model.safetensors'), shards[0]!, dtype, rng);
  } else {
    const weightMap: Record<string, string> = {};
    let totalSize = 0;
    shards.forEach((group, i) => {
      const file = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
      totalSize += writeShard(join(out, file), group, dtype, rng);
      for (const { name } of group) weightMap[name] = file;
    });
    writeJson(join(out, 'model.safetensors.index.json'), { metadata: { total_size: totalSize }, weight_map: weightMap });
  }
  return {
    parameters: tensors.reduce((sum, t) => sum + count(t.shape), 0),
    shards: shards.length,
    seconds: (Date.now() - started) / 1000,
  };
}
