import { Readable } from 'node:stream';
import { CsvError, Parser, type Options as CsvOptions } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import { datasetInvalid } from './dataset-invalid.js';
import type { LimitCheck } from './dataset-limits.js';
import type { ReadOptions } from './dataset-row.js';
import { detectHeader } from './detect-header.js';
import type { FormatReader } from './format-reader.js';
import type { RawRow } from './select-fields.js';

export interface DelimitedOptions extends Pick<ReadOptions, 'columns' | 'header'> {
  delimiter: ',' | '\t';
  /** RFC 4180 quoting; off for GLUE TSV, whose cells hold literal '"'. */
  quoted: boolean;
  source: string;
}

/** A record as csv-parse gives it with `raw: true`. */
interface ParsedRecord {
  record: string[];
  raw: string;
}

/** CSV or TSV (text with '\n' line ends) → rows keyed by header names, or by '0', '1', … without a header. */
export function delimitedReader(options: DelimitedOptions, limits: LimitCheck): FormatReader {
  const csvOptions: CsvOptions = {
    delimiter: options.delimiter,
    quote: options.quoted ? '"' : false,
    record_delimiter: '\n',
    relax_column_count: true,
    skip_empty_lines: true,
    raw: true,
    // csv-parse's own bound on a record's bytes (its cells'), checked while the record is read.
    ...(limits.maxLineBytes === undefined ? {} : { max_record_size: limits.maxLineBytes }),
  };
  const refusal = (err: CsvError) => {
    const line = (err as { lines?: unknown }).lines;
    if (err.code === 'CSV_MAX_RECORD_SIZE' && typeof line === 'number') return limits.lineTooLong(line);
    return datasetInvalid(options.source, err.message, typeof line === 'number' ? line : undefined, err);
  };
  return {
    readText(text, emit) {
      let records: ParsedRecord[];
      try {
        records = parse(text, csvOptions) as unknown as ParsedRecord[];
      } catch (err) {
        throw err instanceof CsvError ? refusal(err) : err;
      }
      const rows = new DelimitedRows(options);
      for (const record of records) {
        const row = rows.next(record);
        if (row) emit(row);
      }
    },
    async readStream(text, emit) {
      const input = Readable.from(text);
      const parser = new Parser(csvOptions);
      input.on('error', (err) => parser.destroy(err));
      input.pipe(parser);
      const rows = new DelimitedRows(options);
      try {
        for await (const record of parser as AsyncIterable<ParsedRecord>) {
          const row = rows.next(record);
          if (row) emit(row);
        }
      } catch (err) {
        throw err instanceof CsvError ? refusal(err) : err;
      } finally {
        input.destroy();
      }
    },
  };
}

/** Turns records into rows one at a time: the first non-blank record names the columns when it is a header. */
class DelimitedRows {
  private nextLine = 1;
  private names: string[] | undefined;

  constructor(private readonly options: DelimitedOptions) {}

  /** The row of a record; none for the header or a blank record. */
  next({ record, raw }: ParsedRecord): RawRow | undefined {
    // csv-parse's own `info.lines` drifts on '\r', so lines are counted from the raw text, which
    // carries the skipped blank lines before a record and concatenates back to the input.
    const line = this.nextLine + (raw.length - raw.replace(/^\n+/, '').length);
    this.nextLine += newlines(raw);
    if (record.length === 1 && record[0]!.trim() === '') return undefined;
    const { columns, header = 'auto', source } = this.options;
    if (!this.names) {
      const hasHeader = header === 'auto' ? detectHeader(record, columns) : header;
      this.names = hasHeader ? record : record.map((_, i) => String(i));
      if (hasHeader) return undefined;
    }
    const names = this.names;
    if (record.length !== names.length) throw datasetInvalid(source, `${record.length} columns, expected ${names.length}`, line);
    return { line, values: Object.fromEntries(names.map((name, i) => [name, record[i]])) };
  }
}

function newlines(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  return count;
}
