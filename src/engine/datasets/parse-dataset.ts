import { readFile } from 'node:fs/promises';
import { EngineError } from '../engine-error.js';
import { datasetInvalid } from './dataset-invalid.js';
import { LimitCheck } from './dataset-limits.js';
import type { DatasetFormat, DatasetRow, ReadOptions } from './dataset-row.js';
import { decodeText, normalizeText } from './dataset-text.js';
import type { FormatReader } from './format-reader.js';
import { delimitedReader } from './parse-delimited.js';
import { jsonlReader } from './parse-jsonl.js';
import { selectFields, type RawRow } from './select-fields.js';

const READERS: Record<DatasetFormat, (options: ReadOptions, source: string, limits: LimitCheck) => FormatReader> = {
  jsonl: (_options, source, limits) => jsonlReader(source, limits),
  csv: (options, source, limits) => delimitedReader({ ...options, delimiter: ',', quoted: true, source }, limits),
  tsv: (options, source, limits) => delimitedReader({ ...options, delimiter: '\t', quoted: false, source }, limits),
};

/** The reader of `options.format`, and what every format does with its raw rows: fields selected, limits checked, rows counted. */
function rowReading(options: ReadOptions, onRow: (row: DatasetRow) => void) {
  const source = options.source ?? 'dataset';
  const reader = READERS[options.format];
  if (!reader) throw new EngineError('BAD_ARGUMENT', `unknown dataset format '${options.format}' (known: ${Object.keys(READERS).join(', ')})`);
  const limits = new LimitCheck(options.limits ?? {}, source);
  let count = 0;
  return {
    reader: reader(options, source, limits),
    accept(raw: RawRow) {
      limits.row(raw.line);
      limits.fields(Object.keys(raw.values).length, raw.line);
      onRow(selectFields(raw, options.columns, source));
      count++;
    },
    /** The number of rows; none is an error. */
    finish(): number {
      if (count === 0) throw datasetInvalid(source, 'no rows');
      return count;
    },
  };
}

/** Rows of a dataset held in a string. Throws DATASET_INVALID naming the line of a malformed row. */
export function parseDataset(text: string, options: ReadOptions): DatasetRow[] {
  const rows: DatasetRow[] = [];
  const { reader, accept, finish } = rowReading(options, (row) => rows.push(row));
  reader.readText(normalizeText(text), accept);
  finish();
  return rows;
}

/**
 * Rows of a dataset whose UTF-8 bytes arrive in pieces (an upload), handed to `onRow` as they are
 * read, so the whole file is never held; resolves to their number. Refuses what parseDataset
 * refuses, as soon as it is read.
 */
export async function streamDataset(bytes: AsyncIterable<Uint8Array>, options: ReadOptions, onRow: (row: DatasetRow) => void): Promise<number> {
  const { reader, accept, finish } = rowReading(options, onRow);
  await reader.readStream(decodeText(bytes), accept);
  return finish();
}

/** Rows of a UTF-8 dataset file; errors name the file unless `options.source` is given. */
export async function readDatasetFile(path: string, options: ReadOptions): Promise<DatasetRow[]> {
  const source = options.source ?? path;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw datasetInvalid(source, `cannot read (${(err as Error).message})`, undefined, err);
  }
  return parseDataset(text, { ...options, source });
}
