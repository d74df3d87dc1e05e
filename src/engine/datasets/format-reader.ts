import type { RawRow } from './select-fields.js';

/** Reads one file format into raw rows, in order: from a whole text, or from text that arrives in pieces. */
export interface FormatReader {
  readText(text: string, emit: (row: RawRow) => void): void;
  readStream(text: AsyncIterable<string>, emit: (row: RawRow) => void): Promise<void>;
}
