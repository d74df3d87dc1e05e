import { Rng } from '../random.js';

/** Examples per sorting window, in batches: wide enough to group lengths, narrow enough to stay random. */
const BUCKET_WINDOW_BATCHES = 8;

/**
 * The batches (lists of example indices) of one epoch: a seeded shuffle, then, with bucketing,
 * each window of 8 batches sorted by length and cut into batches whose order is shuffled again,
 * so a batch holds inputs of similar length and pads little. The same (seed, epoch) always gives
 * the same plan, which is what lets a run resume mid-epoch.
 */
export function epochBatches(lengths: readonly number[], batchSize: number, seed: number, epoch: number, bucketByLength: boolean): number[][] {
  const rng = new Rng((seed * 1_000_003 + epoch * 7919) >>> 0);
  const order = rng.shuffle(lengths.map((_, i) => i));
  if (!bucketByLength) return cut(order, batchSize);
  const window = batchSize * BUCKET_WINDOW_BATCHES;
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += window) {
    const sorted = order.slice(start, start + window).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
    batches.push(...cut(sorted, batchSize));
  }
  return rng.shuffle(batches);
}

function cut(indices: readonly number[], size: number): number[][] {
  return Array.from({ length: Math.ceil(indices.length / size) }, (_, i) => indices.slice(i * size, (i + 1) * size));
}
