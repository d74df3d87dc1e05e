import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeSafetensors, readSafetensors, SafetensorsFile, writeSafetensors, type HostTensor } from '../../src/engine/safetensors.js';
import { MODELS_DIR } from '../helpers/shared.js';
import { tempDir } from '../helpers/temp-dir.js';

const dir = tempDir();

/** A file built byte by byte, as another writer would: header JSON, then raw data. */
function rawFile(name: string, header: object, data: Uint8Array): string {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([length, json, data]));
  return path;
}

test('float32 tensors and metadata survive a write and a read', async () => {
  const tensors = new Map<string, HostTensor>([
    ['b', { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-8, 0, -0]) }],
    ['a', { shape: [], data: Float32Array.from([42]) }],
    ['empty', { shape: [0, 4], data: new Float32Array(0) }],
  ]);
  const path = join(dir, 'roundtrip.safetensors');
  await writeSafetensors(path, tensors, { method: 'lopt1', r: '4' });
  const read = readSafetensors(path);
  assert.deepEqual(read.metadata, { method: 'lopt1', r: '4' });
  assert.deepEqual([...read.tensors.keys()].sort(), ['a', 'b', 'empty']);
  for (const [name, tensor] of tensors) assert.deepEqual(read.tensors.get(name), { shape: tensor.shape, data: tensor.data });
  // The data section starts 8-byte aligned.
  assert.equal(readFileSync(path).readBigUInt64LE(0) % 8n, 0n);
});

test('F16 and BF16 are upcast to float32', () => {
  const f16 = Uint16Array.from([0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00]); // 1, -2, ≈0.33325, smallest subnormal, +inf
  const bf16 = Uint16Array.from([0x3f80, 0xc040, 0x4049]); // 1, -3, ≈3.140625
  const path = rawFile(
    'half.safetensors',
    {
      h: { dtype: 'F16', shape: [5], data_offsets: [0, 10] },
      b: { dtype: 'BF16', shape: [3], data_offsets: [10, 16] },
    },
    Buffer.concat([Buffer.from(f16.buffer), Buffer.from(bf16.buffer)]),
  );
  const { tensors } = readSafetensors(path);
  assert.deepEqual(Array.from(tensors.get('h')!.data), [1, -2, Math.fround(0.333251953125), Math.fround(2 ** -24), Infinity]);
  assert.deepEqual(Array.from(tensors.get('b')!.data), [1, -3, 3.140625]);
});

test('reads a real Hugging Face checkpoint header', () => {
  const file = SafetensorsFile.open(join(MODELS_DIR, 'gpt2-mini', 'model.safetensors'));
  try {
    assert.deepEqual(file.tensors.get('transformer.wte.weight')?.shape, [8192, 256]);
    assert.equal(file.metadata.format, 'pt');
  } finally {
    file.close();
  }
});

test('a truncated file is refused, naming the file and the tensor', () => {
  const whole = encodeSafetensors(new Map([['weight', { shape: [4, 4], data: new Float32Array(16) }]]));
  const path = join(dir, 'truncated.safetensors');
  writeFileSync(path, whole.subarray(0, whole.length - 10));
  assert.throws(() => SafetensorsFile.open(path), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'SAFETENSORS_INVALID');
    assert.match(err.message, /truncated\.safetensors: tensor "weight": data_offsets \[0, 64\] lie outside/);
    return true;
  });
});

test('corrupt headers are refused with the reason', () => {
  const cases: Array<[string, object | string, RegExp]> = [
    ['shape', { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, /tensor "w": shape \[3\] × F32 needs 12 bytes but data_offsets span 8/],
    ['dtype', { w: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, /tensor "w": unknown dtype "F8"/],
    ['offsets', { w: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, /tensor "w": data_offsets \[8, 4\] lie outside/],
    ['json', '{"w": ', /header is not valid JSON/],
    ['metadata', { __metadata__: { epochs: 3 } }, /__metadata__ must map names to strings/],
  ];
  for (const [name, header, message] of cases) {
    const json = typeof header === 'string' ? header : JSON.stringify(header);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    const path = join(dir, `${name}.safetensors`);
    writeFileSync(path, Buffer.concat([length, Buffer.from(json), Buffer.alloc(8)]));
    assert.throws(() => readSafetensors(path), message, name);
  }
  const tooShort = join(dir, 'short.safetensors');
  writeFileSync(tooShort, Buffer.from([1, 2, 3]));
  assert.throws(() => readSafetensors(tooShort), /short\.safetensors: file is 3 bytes/);
  const hugeHeader = join(dir, 'huge.safetensors');
  writeFileSync(hugeHeader, Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0]));
  assert.throws(() => readSafetensors(hugeHeader), /header length 65535 does not fit in a 8-byte file/);
});

test('integer tensors are validated but not read as floats', () => {
  const path = rawFile('ints.safetensors', { ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(16));
  const file = SafetensorsFile.open(path);
  try {
    assert.throws(() => file.readFloat32('ids'), /tensor "ids": dtype I64 cannot be read as float32/);
    assert.throws(() => file.readFloat32('nope'), /no tensor named "nope"/);
  } finally {
    file.close();
  }
});

test('the writer refuses data that does not fill its shape', () => {
  assert.throws(() => encodeSafetensors(new Map([['x', { shape: [2, 2], data: new Float32Array(3) }]])), /3 values do not fill shape \[2, 2\]/);
});
