import { EngineError } from '../engine-error.js';

/** Bounds on what one dataset may hold, so that reading it cannot take unbounded memory or time. Each is off when absent. */
export interface DatasetLimits {
  /** Most rows (a CSV/TSV header not counted). */
  readonly maxRows?: number;
  /** Most fields in one row: JSONL keys, CSV/TSV columns. */
  readonly maxFields?: number;
  /** Longest line in UTF-8 bytes: a JSONL line, or a CSV/TSV record (which quotes may spread over several lines). */
  readonly maxLineBytes?: number;
}

export type DatasetLimit = keyof DatasetLimits;

const WHAT: Record<DatasetLimit, (max: number) => string> = {
  maxRows: (max) => `more than ${max} rows`,
  maxFields: (max) => `more than ${max} fields in a row`,
  maxLineBytes: (max) => `a line longer than ${max} bytes`,
};

/**
 * A dataset past one of its limits. Its code stays DATASET_INVALID (the file cannot be used as it
 * is); callers that answer such files differently (the API's 413) tell it by its class.
 */
export class DatasetLimitExceeded extends EngineError {
  constructor(
    source: string,
    readonly limit: DatasetLimit,
    readonly max: number,
    readonly line: number,
  ) {
    super('DATASET_INVALID', `${source} line ${line}: ${WHAT[limit](max)} (the limit)`);
    this.name = 'DatasetLimitExceeded';
    Object.setPrototypeOf(this, DatasetLimitExceeded.prototype);
  }
}

/** Whether `text` takes more than `max` bytes in UTF-8, without encoding it when its length decides. */
export function longerThan(text: string, max: number): boolean {
  // A UTF-16 unit takes 1 to 3 bytes (a surrogate pair 4 for its 2 units).
  if (text.length > max) return true;
  return text.length * 3 > max && Buffer.byteLength(text, 'utf8') > max;
}

/** Counts rows and fields against the limits as rows are read, and throws at the first that passes one. */
export class LimitCheck {
  private rows = 0;

  constructor(
    private readonly limits: DatasetLimits,
    private readonly source: string,
  ) {}

  get maxLineBytes(): number | undefined {
    return this.limits.maxLineBytes;
  }

  fields(count: number, line: number): void {
    const max = this.limits.maxFields;
    if (max !== undefined && count > max) throw new DatasetLimitExceeded(this.source, 'maxFields', max, line);
  }

  row(line: number): void {
    const max = this.limits.maxRows;
    if (max !== undefined && ++this.rows > max) throw new DatasetLimitExceeded(this.source, 'maxRows', max, line);
  }

  lineLength(text: string, line: number): void {
    const max = this.limits.maxLineBytes;
    if (max !== undefined && longerThan(text, max)) throw new DatasetLimitExceeded(this.source, 'maxLineBytes', max, line);
  }

  /** The error for a line known to be too long (e.g. from csv-parse's own check). */
  lineTooLong(line: number): DatasetLimitExceeded {
    return new DatasetLimitExceeded(this.source, 'maxLineBytes', this.limits.maxLineBytes ?? 0, line);
  }
}
