import type { DatasetLimits } from './dataset-limits.js';

/** One example as read from a file: its 1-based line number and its fields as strings. */
export interface DatasetRow {
  readonly line: number;
  readonly fields: Readonly<Record<string, string>>;
}

export type DatasetFormat = 'jsonl' | 'csv' | 'tsv';

export interface ReadOptions {
  format: DatasetFormat;
  /**
   * Our field name → column/key in the file, e.g. `{ text: 'sentence', label: 'label' }`. Without it
   * every column/key is kept under its own name. For header-less CSV/TSV the columns are named
   * '0', '1', … (so a mapping can say `{ label: '0', text: '1' }`).
   */
  columns?: Readonly<Record<string, string>>;
  /**
   * CSV/TSV only: whether the first row is a header. 'auto': it is a header when it contains every
   * mapped column name (or, with no mapping, when no cell of it parses as a number).
   * @defaultValue 'auto'
   */
  header?: boolean | 'auto';
  /**
   * Name used in error messages.
   * @defaultValue the file path, or 'dataset' for strings
   */
  source?: string;
  /** Bounds on rows, fields and line length; a file past one is refused (DatasetLimitExceeded). @defaultValue none */
  limits?: DatasetLimits;
}
