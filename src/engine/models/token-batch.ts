import { EngineError } from '../engine-error.js';
import { tf } from '../tf.js';
import type { TokenBatch } from './frozen-model.js';

/** Right-pads token sequences with `padId` into a batch; the caller disposes `ids`. */
export function tokenBatch(sequences: ReadonlyArray<readonly number[]>, padId: number, vocabSize: number): TokenBatch {
  if (sequences.length === 0) throw new EngineError('BAD_ARGUMENT', 'a batch needs at least one sequence');
  const lengths = sequences.map((s) => s.length);
  const L = Math.max(...lengths);
  if (Math.min(...lengths) === 0) throw new EngineError('BAD_ARGUMENT', 'every sequence needs at least one token');
  const ids = new Int32Array(sequences.length * L).fill(padId);
  sequences.forEach((sequence, b) => {
    sequence.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new EngineError('BAD_ARGUMENT', `token id ${id} (row ${b}, position ${t}) is outside the vocabulary of ${vocabSize}`);
      }
      ids[b * L + t] = id;
    });
  });
  return { ids: tf.tensor2d(ids, [sequences.length, L], 'int32'), lengths };
}
