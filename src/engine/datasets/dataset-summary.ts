/**
 * What a job's submit checks need of a dataset, computed once as it is read (at upload) and
 * stored beside it, so that a submit never reads the rows again: how many rows, and per field in
 * how many rows it is present (and the first line where it is not), a bound of its longest
 * value's tokens (maxTextTokens) and its distinct values with the line each first appears on
 * (the label set), up to MAX_DISTINCT_VALUES of them and none longer than a label can be. It is
 * never larger than the rows it summarises.
 */
import { maxTextTokens } from '../tokenizer.js';
import type { DatasetRow } from './dataset-row.js';

/** Distinct values kept per field; a field with more (free text) keeps none. More than any task's labels. */
export const MAX_DISTINCT_VALUES = 1024;

/** Longest value kept as a distinct value: a label (a key of labelWords) is at most this long. */
export const MAX_LABEL_LENGTH = 200;

export interface FieldSummary {
  /** Rows that have the field. */
  readonly present: number;
  /** The first line of a row without it; null when every row has it. */
  readonly firstMissingLine: number | null;
  /** maxTextTokens of its longest value (by that bound). */
  readonly maxTextTokens: number;
  /** Each distinct value and the line it first appears on; null past MAX_DISTINCT_VALUES values or one past MAX_LABEL_LENGTH. */
  readonly values: Readonly<Record<string, number>> | null;
}

export interface DatasetSummary {
  readonly rows: number;
  /** The first row's line (1 for a headerless file, 2 after a header); 0 when there are no rows. */
  readonly firstLine: number;
  readonly fields: Readonly<Record<string, FieldSummary>>;
}

interface FieldTally {
  present: number;
  firstMissingLine: number | null;
  maxTextTokens: number;
  values: Map<string, number> | null;
}

/** Summarises rows one at a time, as an upload is read. */
export class DatasetSummarizer {
  private rows = 0;
  private firstLine = 0;
  private readonly fields = new Map<string, FieldTally>();

  add({ line, fields }: DatasetRow): void {
    if (this.rows === 0) this.firstLine = line;
    for (const [name, value] of Object.entries(fields)) {
      let tally = this.fields.get(name);
      if (!tally) {
        // First seen now: every earlier row lacked it.
        tally = { present: 0, firstMissingLine: this.rows > 0 ? this.firstLine : null, maxTextTokens: 0, values: new Map() };
        this.fields.set(name, tally);
      }
      tally.present += 1;
      tally.maxTextTokens = Math.max(tally.maxTextTokens, maxTextTokens(value));
      if (tally.values && !tally.values.has(value)) {
        if (tally.values.size < MAX_DISTINCT_VALUES && value.length <= MAX_LABEL_LENGTH) tally.values.set(value, line);
        else tally.values = null;
      }
    }
    this.rows += 1;
    for (const tally of this.fields.values()) if (tally.present < this.rows) tally.firstMissingLine ??= line;
  }

  finish(): DatasetSummary {
    const fields = Object.fromEntries(
      [...this.fields].map(([name, { present, firstMissingLine, maxTextTokens, values }]) => [
        name,
        { present, firstMissingLine, maxTextTokens, values: values ? Object.fromEntries(values) : null },
      ]),
    );
    return { rows: this.rows, firstLine: this.firstLine, fields };
  }
}

export function summarizeRows(rows: readonly DatasetRow[]): DatasetSummary {
  const summarizer = new DatasetSummarizer();
  for (const row of rows) summarizer.add(row);
  return summarizer.finish();
}
