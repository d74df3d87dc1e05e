import { datasetInvalid } from './dataset-invalid.js';
import type { DatasetRow } from './dataset-row.js';

/** A row as a format parser yields it: values not yet checked or renamed. */
export interface RawRow {
  readonly line: number;
  readonly values: Readonly<Record<string, unknown>>;
}

/** Renames a row's values by `columns` (our field → file key; all keys when absent) and makes them strings. */
export function selectFields({ line, values }: RawRow, columns: Readonly<Record<string, string>> | undefined, source: string): DatasetRow {
  const mapping = Object.entries(columns ?? Object.fromEntries(Object.keys(values).map((key) => [key, key])));
  const fields = mapping.map(([field, key]) => {
    if (!Object.hasOwn(values, key)) throw datasetInvalid(source, `missing '${key}' (found: ${Object.keys(values).join(', ')})`, line);
    return [field, asText(values[key], key, source, line)];
  });
  return { line, fields: Object.fromEntries(fields) };
}

function asText(value: unknown, key: string, source: string, line: number): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object';
  throw datasetInvalid(source, `'${key}' is ${kind}, expected a string, number or boolean`, line);
}
