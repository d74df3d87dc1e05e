import { datasetInvalid } from './dataset-invalid.js';
import type { RawRow } from './select-fields.js';

/** One JSON object per non-blank line. */
export function parseJsonl(text: string, source: string): RawRow[] {
  const rows: RawRow[] = [];
  text.split('\n').forEach((content, index) => {
    if (content.trim() === '') return;
    const line = index + 1;
    let value: unknown;
    try {
      value = JSON.parse(content);
    } catch (err) {
      throw datasetInvalid(source, `not valid JSON (${(err as Error).message})`, line, err);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw datasetInvalid(source, 'not a JSON object', line);
    rows.push({ line, values: value as Record<string, unknown> });
  });
  return rows;
}
