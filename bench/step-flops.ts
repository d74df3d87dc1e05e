/**
 * The physical limit of a prompt-tuning step on GPT-2: the matrix-multiply FLOPs it must do,
 * and this machine's sgemm rate through the OpenBLAS addon, so a step time can be set against
 * FLOPs ÷ rate (the time if every multiply ran at peak and nothing else cost anything).
 */
import { loadNativeAddon } from '../src/engine/native/native-addon.js';
import type { ModelDimensions } from '../src/engine/models/frozen-model.js';

/** The work of one shared-prefix step: B rows of `lengths` tokens after `prefix` prompt rows; `scoredRows` rows reach the output head. */
export interface StepShape {
  readonly lengths: readonly number[];
  readonly prefix: number;
  readonly scoredRows: number;
}

/**
 * Multiply-add FLOPs (2 per multiply-add) of a step: per layer, the four frozen linear layers
 * (12·d² weights) over the prompt's rows once and every token row, and attention (scores and
 * context) over each row's keys; the backward pass computes dx only (the weights are frozen),
 * which costs the linears once more and attention twice more; the head (d × V) forward and back
 * over the scored rows.
 */
export function gpt2StepFlops({ hiddenSize: d, numLayers, vocabSize }: ModelDimensions, { lengths, prefix, scoredRows }: StepShape): number {
  const rows = lengths.reduce((a, b) => a + b, 0) + prefix;
  const linear = 2 * rows * 12 * d * d;
  const attentionPairs = lengths.reduce((sum, length) => sum + length * (prefix + length), 0) + prefix * prefix;
  const attention = 2 * 2 * attentionPairs * d;
  const head = 2 * scoredRows * d * vocabSize;
  return numLayers * (2 * linear + 3 * attention) + 2 * head;
}

/** GFLOP/s of the addon's sgemm on an (m × k)·(k × n) product, best of a few runs; null without the addon. */
export function measureSgemmGflops(m: number, k: number, n: number): number | null {
  const { addon } = loadNativeAddon();
  if (!addon) return null;
  const a = new Float32Array(m * k).fill(0.5);
  const b = new Float32Array(k * n).fill(0.25);
  const out = new Float32Array(m * n);
  const one = Int32Array.of(0);
  let best = Infinity;
  for (let run = 0; run < 6; run++) {
    const start = performance.now();
    addon.gemm(a, b, out, null, one, one, 1, 1, m, n, k, false, false);
    best = Math.min(best, performance.now() - start);
  }
  return (2 * m * k * n) / (best / 1000) / 1e9;
}
