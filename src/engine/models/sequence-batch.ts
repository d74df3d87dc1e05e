/**
 * A batch of B sequences of T positions, real up to `lengths`, after P positions shared by every
 * sequence, as a causal decoder's layers see it: padded to B·T rows with an additive mask (the
 * portable path), or packed to Σ lengths rows with no padding (the addon's attention, which needs
 * no mask).
 */
import { gatherRows } from '../native/native-ops.js';
import { tf } from '../tf.js';

export interface SequenceBatch {
  readonly B: number;
  readonly T: number;
  readonly lengths: readonly number[];
  /** The layers' rows: Σ lengths packed, B·T padded. */
  readonly rows: number;
  /**
   * Where runs of consecutive sequences follow different shared prefixes (of P positions each,
   * e.g. the cached states of several soft prompts): one batch per run, in order, whose rows
   * are consecutive in this one's. Absent when every sequence follows the same prefix.
   */
  readonly prefixGroups?: readonly SequenceBatch[];
  /** (B, 1, T, P + T); null for packed rows. */
  readonly mask: tf.Tensor4D | null;
  /** The position of each of the layers' rows: P + j for a sequence's j-th. */
  readonly positions: Int32Array;
  /** (B·T, d) padded rows → the layers' rows. */
  pack(x: tf.Tensor2D): tf.Tensor2D;
  /** The layers' rows → (B·T, d), padding rows 0 where they were packed away. */
  unpack(x: tf.Tensor2D): tf.Tensor2D;
}

/** Added to the attention scores of keys a query may not see; exp() of it is exactly 0. */
const MASKED = -1e9;

/**
 * Additive attention mask (B, 1, T, P + T) for T queries that follow P shared positions: query i
 * sees every shared key, and its row's key j when j ≤ i (causal) and j < lengths[b] (right
 * padding is hidden).
 */
function attentionMask(lengths: readonly number[], T: number, P: number): tf.Tensor4D {
  const width = P + T;
  const mask = new Float32Array(lengths.length * T * width);
  lengths.forEach((real, b) => {
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        if (j > i || j >= real) mask[(b * T + i) * width + P + j] = MASKED;
      }
    }
  });
  return tf.tensor4d(mask, [lengths.length, 1, T, width]);
}

const keepRows = (x: tf.Tensor2D) => x;

function paddedBatch(lengths: readonly number[], T: number, P: number): SequenceBatch {
  const positions = Int32Array.from({ length: lengths.length * T }, (_, row) => P + (row % T));
  return { B: lengths.length, T, lengths, rows: lengths.length * T, mask: attentionMask(lengths, T, P), positions, pack: keepRows, unpack: keepRows };
}

/** Packs and unpacks by row gathers (each the other's gradient): O(rows · d), on the addon's backends. */
function packedBatch(lengths: readonly number[], T: number, P: number): SequenceBatch {
  const rows = lengths.reduce((sum, length) => sum + length, 0);
  const packed = new Int32Array(rows); // packed row → padded row
  const padded = new Int32Array(lengths.length * T).fill(-1); // padded row → packed row, −1 for padding
  const positions = new Int32Array(rows);
  let row = 0;
  lengths.forEach((length, b) => {
    for (let j = 0; j < length; j++, row++) {
      packed[row] = b * T + j;
      padded[b * T + j] = row;
      positions[row] = P + j;
    }
  });
  const base = { B: lengths.length, T, lengths, rows, mask: null, positions };
  if (lengths.every((length) => length === T)) return { ...base, pack: keepRows, unpack: keepRows };
  return { ...base, pack: (x) => gatherRows(x, packed, padded), unpack: (x) => gatherRows(x, padded, packed) };
}

/** A decoding step: one new position per row, at `positions`; attention goes to each row's cache (RowCache). */
export function decodingBatch(positions: Int32Array): SequenceBatch {
  const lengths = Array.from(positions, () => 1);
  return { B: positions.length, T: 1, lengths, rows: positions.length, mask: null, positions, pack: keepRows, unpack: keepRows };
}

/** `groups`: how many consecutive sequences follow each of several prefixes (see prefixGroups). */
export type SequenceBatcher = (lengths: readonly number[], T: number, P: number, groups?: readonly number[]) => SequenceBatch;

/** Packed rows where the addon's attention runs (`native`), padded ones with a mask elsewhere. */
export function sequenceBatcher(native: boolean): SequenceBatcher {
  const layout = native ? packedBatch : paddedBatch;
  return (lengths, T, P, groups) => {
    const batch = layout(lengths, T, P);
    if (!groups || groups.length < 2) return batch;
    let first = 0;
    const prefixGroups = groups.map((count) => layout(lengths.slice(first, (first += count)), T, P));
    return { ...batch, prefixGroups };
  };
}
