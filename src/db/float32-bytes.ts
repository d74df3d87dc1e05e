/** float32 tensors ↔ the little-endian bytes stored in Bytes columns. */

export function float32ToBytes(data: Float32Array): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  data.forEach((value, i) => view.setFloat32(i * 4, value, true));
  return bytes;
}

// Prisma hands back Bytes at offsets that need not be multiples of 4, so they cannot be viewed as
// a Float32Array in place; DataView reads them wherever they start, in explicit byte order.
export function bytesToFloat32(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) throw new Error(`float32 data has ${bytes.byteLength} bytes, not a multiple of 4`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(i * 4, true);
  return data;
}
