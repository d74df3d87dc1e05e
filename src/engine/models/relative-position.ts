/**
 * T5's relative-position buckets, as Hugging Face's T5Attention._relative_position_bucket
 * computes them: the relative position (key − query) goes to one of `buckets` buckets, half of
 * them exact for short distances and the rest logarithmic up to `maxDistance`; bidirectional
 * (the encoder) keeps the upper half of the buckets for positive offsets, causal (the decoder)
 * buckets only keys behind the query. The logarithm is taken in float32, as HF does.
 */
export function relativePositionBucket(relative: number, bidirectional: boolean, buckets: number, maxDistance: number): number {
  let bucket = 0;
  let distance: number;
  let count = buckets;
  if (bidirectional) {
    count = Math.floor(count / 2);
    if (relative > 0) bucket += count;
    distance = Math.abs(relative);
  } else {
    distance = -Math.min(relative, 0);
  }
  const maxExact = Math.floor(count / 2);
  if (distance < maxExact) return bucket + distance;
  const f = Math.fround;
  const scaled = f(f(f(Math.log(f(distance / maxExact))) / f(Math.log(maxDistance / maxExact))) * (count - maxExact));
  return bucket + Math.min(maxExact + Math.trunc(scaled), count - 1);
}

/**
 * The additive bias [H, Tq, Tk] of queries at positions 0 … Tq−1 over keys at 0 … Tk−1, from the
 * table [buckets, H] (row-major) of a stack's first block.
 */
export function relativePositionBias(table: Float32Array, heads: number, Tq: number, Tk: number, bidirectional: boolean, buckets: number, maxDistance: number): Float32Array {
  const bias = new Float32Array(heads * Tq * Tk);
  const bucketOf = new Map<number, number>();
  for (let i = 0; i < Tq; i++) {
    for (let j = 0; j < Tk; j++) {
      const relative = j - i;
      let bucket = bucketOf.get(relative);
      if (bucket === undefined) bucketOf.set(relative, (bucket = relativePositionBucket(relative, bidirectional, buckets, maxDistance)));
      for (let h = 0; h < heads; h++) bias[(h * Tq + i) * Tk + j] = table[bucket * heads + h]!;
    }
  }
  return bias;
}
