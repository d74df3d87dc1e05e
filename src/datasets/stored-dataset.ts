/**
 * Datasets are stored as the rows read at upload, one JSON object per line: each row's fields and
 * its line in the uploaded file, so later errors still point at the user's own line. The API
 * writes this form (uploads, inline examples) and the worker reads it.
 */
import type { DatasetRow } from '../engine/datasets/dataset-row.js';

const storedLine = ({ line, fields }: DatasetRow): string => JSON.stringify({ line, fields });

export function canonicalRows(rows: readonly DatasetRow[]): Buffer {
  return Buffer.from(rows.map(storedLine).join('\n'), 'utf8');
}

/** Characters of rows a writer gathers before it encodes them, so that rows are not encoded one by one. */
const PIECE_CHARS = 1 << 16;

/** The stored form of rows that come one at a time (an upload being read): the bytes canonicalRows gives for them all. */
export class StoredRowsWriter {
  private readonly pieces: Buffer[] = [];
  private pending: string[] = [];
  private pendingChars = 0;
  private encodedBytes = 0;

  add(row: DatasetRow): void {
    const line = storedLine(row);
    this.pending.push(line);
    this.pendingChars += line.length;
    if (this.pendingChars >= PIECE_CHARS) this.encodePending();
  }

  /** The bytes encoded so far: what is written, up to the last PIECE_CHARS characters. */
  get byteLength(): number {
    return this.encodedBytes;
  }

  /** All of it, in memory of its own (not a view of a shared pool), so it can be transferred to another thread. */
  finish(): Uint8Array<ArrayBuffer> {
    this.encodePending();
    const content = new Uint8Array(this.encodedBytes);
    let offset = 0;
    for (const piece of this.pieces) {
      content.set(piece, offset);
      offset += piece.length;
    }
    this.pieces.length = 0;
    return content;
  }

  private encodePending(): void {
    if (this.pending.length === 0) return;
    const piece = Buffer.from(`${this.pieces.length ? '\n' : ''}${this.pending.join('\n')}`, 'utf8');
    this.pieces.push(piece);
    this.encodedBytes += piece.length;
    this.pending = [];
    this.pendingChars = 0;
  }
}

export function storedRows(content: Uint8Array): DatasetRow[] {
  return new TextDecoder()
    .decode(content)
    .split('\n')
    .map((line) => JSON.parse(line) as DatasetRow);
}
