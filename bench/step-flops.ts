/**
 * The physical limit of a prompt-tuning step on a decoder (GPT-2, the Llama family): the matrix-multiply FLOPs it must do,
 * and this machine's sgemm rate through the OpenBLAS addon, so a step time can be set against
 * FLOPs ÷ rate (the time if every multiply ran at peak and nothing else cost anything).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseGpt2Config } from '../src/engine/models/gpt2-config.js';
import { parseLlamaConfig, type LlamaFamilyType } from '../src/engine/models/llama-config.js';
import { loadNativeAddon } from '../src/engine/native/native-addon.js';

/** The work of one shared-prefix step: B rows of `lengths` tokens after `prefix` prompt rows; `scoredRows` rows reach the output head. */
export interface StepShape {
  readonly lengths: readonly number[];
  readonly prefix: number;
  readonly scoredRows: number;
}

/** The sizes of a decoder that set its matrix-multiply work. */
export interface DecoderShape {
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly vocabSize: number;
  /** Frozen linear weights of one layer: GPT-2's 12·d²; Llama's q, k, v, o and gate, up, down. */
  readonly linearWeights: number;
  /** Width of the queries (heads · head size): what each (query, key) pair costs in scores and in context. */
  readonly attentionWidth: number;
}

/** The decoder shape of the model folder `dir`, from its config.json; null for an encoder-decoder (T5), which this count does not cover. */
export function decoderShape(dir: string): DecoderShape | null {
  const path = join(dir, 'config.json');
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  if (raw.model_type === 't5') return null;
  if (raw.model_type === 'gpt2') {
    const c = parseGpt2Config(path, raw);
    return { hiddenSize: c.hiddenSize, numLayers: c.numLayers, vocabSize: c.vocabSize, linearWeights: 4 * c.hiddenSize ** 2 + 2 * c.hiddenSize * c.innerSize, attentionWidth: c.hiddenSize };
  }
  const c = parseLlamaConfig(raw.model_type as LlamaFamilyType, path, raw);
  const [d, q, kv] = [c.hiddenSize, c.numHeads * c.headSize, c.numKvHeads * c.headSize];
  return { hiddenSize: d, numLayers: c.numLayers, vocabSize: c.vocabSize, linearWeights: d * (q + 2 * kv) + q * d + 3 * d * c.innerSize, attentionWidth: q };
}

/**
 * Multiply-add FLOPs (2 per multiply-add) of a step: per layer, the frozen linear layers over the
 * prompt's rows once and every token row, and attention (scores and context) over each row's
 * keys; the backward pass computes dx only (the weights are frozen), which costs the linears once
 * more and attention twice more; the head (d × V) forward and back over the scored rows.
 */
export function stepFlops({ hiddenSize: d, numLayers, vocabSize, linearWeights, attentionWidth }: DecoderShape, { lengths, prefix, scoredRows }: StepShape): number {
  const rows = lengths.reduce((a, b) => a + b, 0) + prefix;
  const linear = 2 * rows * linearWeights;
  const attentionPairs = lengths.reduce((sum, length) => sum + length * (prefix + length), 0) + prefix * prefix;
  const attention = 2 * 2 * attentionPairs * attentionWidth;
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
