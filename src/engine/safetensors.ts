/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header mapping each
 * tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the byte
 * buffer after the header), then the byte buffer. Floats are read as float32 (F16 and BF16
 * upcast); the writer emits F32 only. Tensors are read one at a time with positional reads,
 * so files larger than a Node Buffer can be loaded.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { EngineError } from './engine-error.js';

if (endianness() !== 'LE') throw new Error('lopt-service reads and writes tensors on little-endian hosts only');

const DTYPE_BYTES = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
} as const;
export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

/** The header of one tensor. */
export interface TensorEntry {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Absolute byte offsets in the file: [begin, end). */
  readonly begin: number;
  readonly end: number;
}

/** A float32 tensor held in host memory. */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Headers of more than this are refused as corrupt rather than allocated. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function invalid(file: string, what: string): EngineError {
  return new EngineError('SAFETENSORS_INVALID', `${file}: ${what}`);
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function parseEntry(file: string, name: string, raw: unknown, dataStart: number, dataBytes: number): TensorEntry {
  const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  if (typeof entry !== 'object' || entry === null) throw invalid(file, `tensor "${name}": header entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
    throw invalid(file, `tensor "${name}": unknown dtype ${JSON.stringify(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalid(file, `tensor "${name}": shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw invalid(file, `tensor "${name}": data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataBytes) {
    throw invalid(
      file,
      `tensor "${name}": data_offsets [${begin}, ${end}] lie outside the ${dataBytes}-byte data section (truncated file?)`,
    );
  }
  const expected = elementCount(shape) * DTYPE_BYTES[dtype as SafetensorsDtype];
  if (end - begin !== expected) {
    throw invalid(
      file,
      `tensor "${name}": shape [${shape.join(', ')}] × ${dtype} needs ${expected} bytes but data_offsets span ${end - begin}`,
    );
  }
  return { dtype: dtype as SafetensorsDtype, shape, begin: dataStart + begin, end: dataStart + end };
}

function parseMetadata(file: string, raw: unknown): Record<string, string> {
  if (typeof raw !== 'object' || raw === null || !Object.values(raw).every((v) => typeof v === 'string')) {
    throw invalid(file, '__metadata__ must map names to strings');
  }
  return raw as Record<string, string>;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function toFloat32(dtype: SafetensorsDtype, bytes: Buffer, count: number): Float32Array | null {
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = bytes.readDoubleLE(i * 8);
      return out;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(bytes.readUInt16LE(i * 2));
      return out;
    case 'BF16': {
      // bfloat16 is the top half of a float32: shift its bits into place.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = bytes.readUInt16LE(i * 2) << 16;
      return out;
    }
    default:
      return null;
  }
}

/** Where the bytes come from: a file read piece by piece, or bytes already in memory. */
interface ByteSource {
  readonly size: number;
  /** Copies bytes from `position` into `into`; returns how many there were. */
  read(into: Uint8Array, position: number): number;
  close(): void;
}

function fileSource(path: string): ByteSource {
  const fd = openSync(path, 'r');
  return {
    size: fstatSync(fd).size,
    read: (into, position) => readSync(fd, into, 0, into.length, position),
    close: () => closeSync(fd),
  };
}

function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(into, position) {
      const piece = bytes.subarray(position, position + into.length);
      into.set(piece);
      return piece.length;
    },
    close: () => undefined,
  };
}

/** An open safetensors file whose header has been validated; tensors are read on demand. */
export class SafetensorsFile {
  private constructor(
    /** The file's path, or the name given to in-memory bytes: errors name it. */
    readonly path: string,
    private readonly source: ByteSource,
    readonly tensors: ReadonlyMap<string, TensorEntry>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {}

  static open(path: string): SafetensorsFile {
    return SafetensorsFile.from(path, fileSource(path));
  }

  static fromBytes(bytes: Uint8Array, name: string): SafetensorsFile {
    return SafetensorsFile.from(name, memorySource(bytes));
  }

  private static from(path: string, source: ByteSource): SafetensorsFile {
    try {
      const { tensors, metadata } = SafetensorsFile.readHeader(path, source);
      return new SafetensorsFile(path, source, tensors, metadata);
    } catch (err) {
      source.close();
      throw err;
    }
  }

  private static readHeader(path: string, source: ByteSource) {
    const fileBytes = source.size;
    if (fileBytes < 8) throw invalid(path, `file is ${fileBytes} bytes, too short for a header`);
    const lengthBytes = Buffer.alloc(8);
    source.read(lengthBytes, 0);
    const headerBytes = Number(lengthBytes.readBigUInt64LE(0));
    if (headerBytes > MAX_HEADER_BYTES || 8 + headerBytes > fileBytes) {
      throw invalid(path, `header length ${headerBytes} does not fit in a ${fileBytes}-byte file`);
    }
    const headerBuffer = Buffer.alloc(headerBytes);
    source.read(headerBuffer, 8);
    let header: unknown;
    try {
      header = JSON.parse(headerBuffer.toString('utf8'));
    } catch (err) {
      throw invalid(path, `header is not valid JSON (${(err as Error).message})`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      throw invalid(path, 'header is not a JSON object');
    }
    const dataStart = 8 + headerBytes;
    const tensors = new Map<string, TensorEntry>();
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') metadata = parseMetadata(path, raw);
      else tensors.set(name, parseEntry(path, name, raw, dataStart, fileBytes - dataStart));
    }
    return { tensors, metadata };
  }

  /** Reads one tensor as float32 (F64, F32, F16 and BF16 are supported). */
  readFloat32(name: string): HostTensor {
    const entry = this.tensors.get(name);
    if (!entry) throw invalid(this.path, `no tensor named "${name}"`);
    const count = elementCount(entry.shape);
    if (entry.dtype === 'F32') {
      // Little-endian hosts only (checked at import): the bytes land in the array as they are.
      const data = new Float32Array(count);
      this.readBytes(name, entry, new Uint8Array(data.buffer));
      return { shape: entry.shape, data };
    }
    const bytes = Buffer.alloc(entry.end - entry.begin);
    this.readBytes(name, entry, bytes);
    const data = toFloat32(entry.dtype, bytes, count);
    if (!data) throw invalid(this.path, `tensor "${name}": dtype ${entry.dtype} cannot be read as float32`);
    return { shape: entry.shape, data };
  }

  private readBytes(name: string, entry: TensorEntry, into: Uint8Array): void {
    const read = this.source.read(into, entry.begin);
    if (read !== into.length) throw invalid(this.path, `tensor "${name}": file ended after ${read} of ${into.length} bytes`);
  }

  close(): void {
    this.source.close();
  }
}

/** Reads every tensor of a file, or of in-memory bytes, as float32. */
export function readSafetensors(
  source: string | { bytes: Uint8Array; name: string },
): { tensors: Map<string, HostTensor>; metadata: Record<string, string> } {
  const file = typeof source === 'string' ? SafetensorsFile.open(source) : SafetensorsFile.fromBytes(source.bytes, source.name);
  try {
    const tensors = new Map<string, HostTensor>();
    for (const name of file.tensors.keys()) tensors.set(name, file.readFloat32(name));
    return { tensors, metadata: { ...file.metadata } };
  } finally {
    file.close();
  }
}

/** Encodes float32 tensors (in name order) with optional string metadata. */
export function encodeSafetensors(tensors: ReadonlyMap<string, HostTensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const names = [...tensors.keys()].sort();
  let offset = 0;
  for (const name of names) {
    const { shape, data } = tensors.get(name)!;
    if (data.length !== elementCount(shape)) {
      throw new EngineError('BAD_ARGUMENT', `tensor "${name}": ${data.length} values do not fill shape [${shape.join(', ')}]`);
    }
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // keeps the data section 8-byte aligned
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let position = 8 + headerBytes.length;
  for (const name of names) {
    const { data } = tensors.get(name)!;
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    position += data.byteLength;
  }
  return out;
}

export async function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, HostTensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFile(path, encodeSafetensors(tensors, metadata));
}
