/** Our values → Prisma's input types, where those are narrower than what callers hold. */
import { Prisma } from './generated/client.js';

// Callers hand over plain JSON-serialisable objects; `object` is wider than Prisma's Json input.
export function jsonInput(value: object): Prisma.InputJsonValue {
  return value as Prisma.InputJsonValue;
}

/** For nullable Json columns: null stores SQL NULL, undefined leaves the column as it is. */
export function nullableJsonInput(value: object | null | undefined): Prisma.InputJsonValue | typeof Prisma.DbNull | undefined {
  return value === null ? Prisma.DbNull : value === undefined ? undefined : jsonInput(value);
}

/** Prisma's Bytes must own an ArrayBuffer (not a SharedArrayBuffer or a pooled Buffer's): a copy always does. */
export function bytesInput(data: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(data);
}
