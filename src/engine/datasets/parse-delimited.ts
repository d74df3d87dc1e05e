import { parse } from 'csv-parse/sync';
import { datasetInvalid } from './dataset-invalid.js';
import type { ReadOptions } from './dataset-row.js';
import { detectHeader } from './detect-header.js';
import type { RawRow } from './select-fields.js';

export interface DelimitedOptions extends Pick<ReadOptions, 'columns' | 'header'> {
  delimiter: ',' | '\t';
  /** RFC 4180 quoting; off for GLUE TSV, whose cells hold literal '"'. */
  quoted: boolean;
  source: string;
}

interface DelimitedRecord {
  line: number;
  cells: string[];
}

/** CSV or TSV (text with '\n' line ends) → rows keyed by header names, or by '0', '1', … without a header. */
export function parseDelimited(text: string, { delimiter, quoted, columns, header = 'auto', source }: DelimitedOptions): RawRow[] {
  const records = readRecords(text, delimiter, quoted, source);
  const first = records[0];
  if (!first) return [];
  const hasHeader = header === 'auto' ? detectHeader(first.cells, columns) : header;
  const names = hasHeader ? first.cells : first.cells.map((_, i) => String(i));
  return records.slice(hasHeader ? 1 : 0).map(({ line, cells }) => {
    if (cells.length !== names.length) throw datasetInvalid(source, `${cells.length} columns, expected ${names.length}`, line);
    return { line, values: Object.fromEntries(names.map((name, i) => [name, cells[i]])) };
  });
}

function readRecords(text: string, delimiter: string, quoted: boolean, source: string): DelimitedRecord[] {
  let parsed: { record: string[]; raw: string }[];
  try {
    parsed = parse(text, {
      delimiter,
      quote: quoted ? '"' : false,
      record_delimiter: '\n',
      relax_column_count: true,
      skip_empty_lines: true,
      raw: true,
    }) as unknown as { record: string[]; raw: string }[];
  } catch (err) {
    const line = (err as { lines?: unknown }).lines;
    throw datasetInvalid(source, (err as Error).message, typeof line === 'number' ? line : undefined, err);
  }
  // csv-parse's own `info.lines` drifts on '\r', so lines are counted from the raw text, which
  // carries the skipped blank lines before a record and concatenates back to the input.
  const records: DelimitedRecord[] = [];
  let nextLine = 1;
  for (const { record, raw } of parsed) {
    const blankLines = raw.length - raw.replace(/^\n+/, '').length;
    if (!(record.length === 1 && record[0]!.trim() === '')) records.push({ line: nextLine + blankLines, cells: record });
    nextLine += raw.split('\n').length - 1;
  }
  return records;
}
