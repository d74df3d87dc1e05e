/** Datasets are stored as the rows read at upload: one JSON object of fields per line. */
import type { DatasetRow } from '../engine/datasets/dataset-row.js';
import { parseDataset } from '../engine/datasets/parse-dataset.js';

export function canonicalRows(rows: readonly DatasetRow[]): Buffer {
  return Buffer.from(rows.map((row) => JSON.stringify(row.fields)).join('\n'), 'utf8');
}

/** The rows of stored content; line numbers are row numbers. */
export function storedRows(content: Uint8Array, name: string): DatasetRow[] {
  return parseDataset(new TextDecoder().decode(content), { format: 'jsonl', source: `dataset ${name}` });
}
