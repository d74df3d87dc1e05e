import { datasetInvalid } from './dataset-invalid.js';
import type { LimitCheck } from './dataset-limits.js';
import type { FormatReader } from './format-reader.js';
import { LineSplitter } from './line-splitter.js';
import type { RawRow } from './select-fields.js';

/** One JSON object per non-blank line. */
export function jsonlReader(source: string, limits: LimitCheck): FormatReader {
  const lines = (emit: (row: RawRow) => void) =>
    new LineSplitter((content, line) => {
      const row = jsonlRow(content, line, source);
      if (row) emit(row);
    }, limits);
  return {
    readText(text, emit) {
      const splitter = lines(emit);
      splitter.write(text);
      splitter.end();
    },
    async readStream(text, emit) {
      const splitter = lines(emit);
      for await (const piece of text) splitter.write(piece);
      splitter.end();
    },
  };
}

function jsonlRow(content: string, line: number, source: string): RawRow | undefined {
  if (content.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch (err) {
    throw datasetInvalid(source, `not valid JSON (${(err as Error).message})`, line, err);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw datasetInvalid(source, 'not a JSON object', line);
  return { line, values: value as Record<string, unknown> };
}
