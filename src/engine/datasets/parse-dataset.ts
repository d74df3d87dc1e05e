import { readFile } from 'node:fs/promises';
import { EngineError } from '../engine-error.js';
import { datasetInvalid } from './dataset-invalid.js';
import type { DatasetFormat, DatasetRow, ReadOptions } from './dataset-row.js';
import { parseDelimited } from './parse-delimited.js';
import { parseJsonl } from './parse-jsonl.js';
import { selectFields, type RawRow } from './select-fields.js';

const PARSERS: Record<DatasetFormat, (text: string, options: ReadOptions, source: string) => RawRow[]> = {
  jsonl: (text, _options, source) => parseJsonl(text, source),
  csv: (text, options, source) => parseDelimited(text, { ...options, delimiter: ',', quoted: true, source }),
  tsv: (text, options, source) => parseDelimited(text, { ...options, delimiter: '\t', quoted: false, source }),
};

/** Rows of a dataset held in a string (e.g. an upload). Throws DATASET_INVALID naming the line of a malformed row. */
export function parseDataset(text: string, options: ReadOptions): DatasetRow[] {
  const source = options.source ?? 'dataset';
  const parser = PARSERS[options.format];
  if (!parser) throw new EngineError('BAD_ARGUMENT', `unknown dataset format '${options.format}' (known: ${Object.keys(PARSERS).join(', ')})`);
  // '\r\n' → '\n' so that every parser splits lines alike and CSV line counting stays exact.
  const normalized = text.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
  const rows = selectFields(parser(normalized, options, source), options.columns, source);
  if (rows.length === 0) throw datasetInvalid(source, 'no rows');
  return rows;
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
