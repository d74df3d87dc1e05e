import { EngineError } from '../engine-error.js';

/** A DATASET_INVALID error whose message starts with the source and, for a malformed row, its 1-based line. */
export function datasetInvalid(source: string, message: string, line?: number, cause?: unknown): EngineError {
  const where = line === undefined ? source : `${source} line ${line}`;
  return new EngineError('DATASET_INVALID', `${where}: ${message}`, { cause });
}
