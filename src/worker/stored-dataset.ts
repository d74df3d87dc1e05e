/**
 * Datasets are stored as the rows read at upload, one JSON object per line: each row's fields and
 * its line in the uploaded file, so later errors still point at the user's own line.
 */
import type { DatasetRow } from '../engine/datasets/dataset-row.js';

export function canonicalRows(rows: readonly DatasetRow[]): Buffer {
  return Buffer.from(rows.map(({ line, fields }) => JSON.stringify({ line, fields })).join('\n'), 'utf8');
}

export function storedRows(content: Uint8Array): DatasetRow[] {
  return new TextDecoder()
    .decode(content)
    .split('\n')
    .map((line) => JSON.parse(line) as DatasetRow);
}
