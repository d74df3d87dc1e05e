import type { ReadOptions } from '../engine/datasets/dataset-row.js';
import type { DatasetSummary } from '../engine/datasets/dataset-summary.js';

/** What a parse thread is started with (its `workerData`). */
export interface ParseJob {
  /** How to read the upload, its limits included. */
  readonly read: ReadOptions;
  /** Most bytes its stored rows may take. */
  readonly maxStoredBytes: number;
}

/** The upload's bytes in order, then its end. */
export type ToParseThread = { readonly type: 'chunk'; readonly bytes: Uint8Array } | { readonly type: 'end' };

/** Why an upload is refused: its content is invalid, or past a limit. */
export interface ParseRefusal {
  readonly kind: 'invalid' | 'too-large';
  readonly message: string;
  readonly details?: { readonly limit: string; readonly max: number; readonly line: number };
}

export type FromParseThread =
  | { readonly type: 'parsed'; readonly rowCount: number; readonly sha256: string; readonly content: Uint8Array; readonly summary: DatasetSummary }
  | { readonly type: 'refused'; readonly refusal: ParseRefusal };
