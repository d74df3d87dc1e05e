/**
 * Causal multi-head attention of a decoder layer from its fused [q | k | v] rows, with grouped-
 * query attention (kvHeads key/value heads shared by groups of heads / kvHeads query heads;
 * kvHeads = heads is plain multi-head attention) and the keys and values of P shared positions
 * (a soft prompt's) in front of every sequence. Shapes: B batch, T positions, P shared, H query
 * heads, KV key/value heads, g = H / KV, hs head size.
 */
import { nativeAttention } from '../native/native-ops.js';
import { tf } from '../tf.js';
import type { SequenceBatch } from './sequence-batch.js';

export interface AttentionShape {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headSize: number;
  /** Multiplies the scores q·k (1/√hs in most models). */
  readonly scale: number;
}

/** Width of a [q | k | v] row. */
export const qkvWidth = ({ heads, kvHeads, headSize }: AttentionShape) => (heads + 2 * kvHeads) * headSize;

/**
 * Context (one row per row of qkv, H·hs wide) of the heads' attention over `past` (the [q | k | v]
 * rows of the P shared positions) and each sequence's own positions. `native`: the addon's fused
 * kernel over packed rows; else TF.js ops over padded rows and the batch's mask. Where the batch
 * has prefix groups, `past` holds each group's P rows one group after another, and each group
 * attends to its own (the kernel reads them in place; the TF.js path splits the rows by group).
 */
export function attend(qkv: tf.Tensor2D, batch: SequenceBatch, past: tf.Tensor2D | RowCache | undefined, shape: AttentionShape, native: boolean): tf.Tensor2D {
  if (past instanceof RowCache) return past.attendAndAppend(qkv, shape);
  const groups = batch.prefixGroups;
  if (!groups || !past) return attendOneGroup(qkv, batch, past, shape, native);
  // The addon's kernel reads each sequence's own block of `past` in place: no split of the rows.
  if (native) return nativeAttention(qkv, past, { lengths: [...batch.lengths], prefixOf: groups.flatMap(({ B }, g) => Array<number>(B).fill(g)), ...shape });
  const queries = tf.split(qkv, groups.map(({ rows }) => rows), 0) as tf.Tensor2D[];
  const pasts = tf.split(past, groups.length, 0) as tf.Tensor2D[];
  return tf.concat(groups.map((group, g) => attendOneGroup(queries[g]!, group, pasts[g], shape, native)), 0);
}

function attendOneGroup(qkv: tf.Tensor2D, batch: SequenceBatch, past: tf.Tensor2D | undefined, shape: AttentionShape, native: boolean): tf.Tensor2D {
  if (native) return nativeAttention(qkv, past ?? null, { lengths: [...batch.lengths], ...shape });
  const { B, T, mask } = batch;
  const { heads: H, kvHeads: KV, headSize: hs, scale } = shape;
  // (rows·S, count·hs) → (rows, count, S, hs)
  const split = (t: tf.Tensor2D, rows: number, count: number) => tf.transpose(tf.reshape(t, [rows, t.shape[0] / rows, count, hs]), [0, 2, 1, 3]) as tf.Tensor4D;
  const sizes = [H * hs, KV * hs, KV * hs];
  const [q, k, v] = tf.split(qkv, sizes, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
  const [, pastK, pastV] = past ? (tf.split(past, sizes, 1) as tf.Tensor2D[]) : [];
  const withPast = (mine: tf.Tensor2D, shared: tf.Tensor2D | undefined) => {
    const own = split(mine, B, KV);
    return shared ? tf.concat([tf.broadcastTo(split(shared, 1, KV), [B, KV, shared.shape[0], hs]), own], 2) : own; // (B, KV, S, hs)
  };
  // Query head h = kv·g + i, so (B, H, T, hs) is (B, KV, g·T, hs) as it lies: each group meets its key/value head in one matMul.
  const grouped = tf.reshape(split(q, B, H), [B, KV, (H / KV) * T, hs]);
  const keys = withPast(k, pastK);
  const S = keys.shape[2]!;
  const scores = tf.add(tf.mul(tf.reshape(tf.matMul(grouped, keys, false, true), [B, H, T, S]), scale), mask!); // (B, H, T, S)
  const probs = tf.reshape(tf.softmax(scores), [B, KV, (H / KV) * T, S]);
  const context = tf.reshape(tf.matMul(probs, withPast(v, pastV)), [B, H, T, hs]);
  return tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [B * T, H * hs]) as tf.Tensor2D;
}

/** Added to the scores of cached positions a row does not have (its padding); exp() of it is 0. */
const HIDDEN = -1e9;

/**
 * One layer's keys and values of every position each row of a decoding batch has seen (its
 * prompt's, its input's, what it generated), padded to one length S: k and v (B, KV, S, hs) and an
 * additive mask (B, 1, 1, S). Decoding feeds one position per row at a time: attendAndAppend lets
 * that position attend to the cache and to itself, then keeps its key and value. The tensors are
 * the cache's own (kept out of any tidy); `dispose` frees them.
 */
export class RowCache {
  private constructor(
    private k: tf.Tensor4D,
    private v: tf.Tensor4D,
    private mask: tf.Tensor4D,
  ) {}

  /** From cached [q | k | v] rows (B, S, qkv) of S positions per row, of which `visible[b]` are real. */
  static of(qkvRows: tf.Tensor3D, visible: readonly number[], { heads: H, kvHeads: KV, headSize: hs }: Omit<AttentionShape, 'scale'>): RowCache {
    const [B, S] = qkvRows.shape;
    const mask = new Float32Array(B * S);
    visible.forEach((count, b) => mask.fill(HIDDEN, b * S + count, (b + 1) * S));
    const [k, v] = tf.tidy(() => {
      const [, keys, values] = tf.split(qkvRows, [H * hs, KV * hs, KV * hs], 2);
      const heads = (t: tf.Tensor) => tf.keep(tf.transpose(tf.reshape(t, [B, S, KV, hs]), [0, 2, 1, 3]) as tf.Tensor4D);
      return [heads(keys!), heads(values!)];
    });
    return new RowCache(k!, v!, tf.keep(tf.tensor4d(mask, [B, 1, 1, S])));
  }

  /** Context (B, H·hs) of one new position per row, from its [q | k | v] row (B, qkv); its key and value join the cache. */
  attendAndAppend(qkv: tf.Tensor2D, { heads: H, kvHeads: KV, headSize: hs, scale }: AttentionShape): tf.Tensor2D {
    const B = qkv.shape[0];
    const [k, v, mask, context] = tf.tidy(() => {
      const [q, newK, newV] = tf.split(qkv, [H * hs, KV * hs, KV * hs], 1);
      const heads = (t: tf.Tensor, count: number) => tf.reshape(t, [B, count, 1, hs]);
      const keys = tf.concat([this.k, heads(newK!, KV)], 2) as tf.Tensor4D; // (B, KV, S + 1, hs)
      const values = tf.concat([this.v, heads(newV!, KV)], 2) as tf.Tensor4D;
      const visible = tf.concat([this.mask, tf.zeros([B, 1, 1, 1])], 3) as tf.Tensor4D;
      // Query head h = kv·g + i: each group of g query heads meets its key/value head in one matMul.
      const grouped = tf.reshape(q!, [B, KV, H / KV, hs]);
      const scores = tf.add(tf.mul(tf.matMul(grouped, keys, false, true), scale), visible); // (B, KV, g, S + 1)
      const context = tf.reshape(tf.matMul(tf.softmax(scores), values), [B, H * hs]) as tf.Tensor2D;
      return [tf.keep(keys), tf.keep(values), tf.keep(visible), context];
    });
    tf.dispose([this.k, this.v, this.mask]);
    [this.k, this.v, this.mask] = [k as tf.Tensor4D, v as tf.Tensor4D, mask as tf.Tensor4D];
    return context as tf.Tensor2D;
  }

  /** Keeps only the rows `keep` (in that order): rows that finished leave the batch. */
  select(keep: readonly number[]): void {
    const picked = [this.k, this.v, this.mask].map((t) => tf.keep(tf.gather(t, keep)) as tf.Tensor4D);
    tf.dispose([this.k, this.v, this.mask]);
    [this.k, this.v, this.mask] = picked as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  }

  dispose(): void {
    tf.dispose([this.k, this.v, this.mask]);
  }
}

