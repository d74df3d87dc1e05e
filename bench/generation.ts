/**
 * Generation step time against output length, with the key/value cache and without: a LoPT-1
 * prompt (n 20, r 4, random factors) is put in front of one input, and every new token's time is
 * taken as it comes (no stop token: each run makes `--tokens` tokens, or as many as the model's
 * positions leave). Prints ms per new token by output-length band, and the total.
 *
 *   npm run bench:generation -- [--model DIR] [--tokens 96] [--rows 1] [--uncached-tokens N]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { backendLabel, initBackend } from '../src/engine/backend.js';
import { isCausalLanguageModel } from '../src/engine/models/frozen-model.js';
import { loadFrozenModel } from '../src/engine/models/load-model.js';
import { generateTokens } from '../src/engine/tasks/generation.js';
import { tf } from '../src/engine/tf.js';
import { MODELS_DIR } from '../test/helpers/shared.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: join(MODELS_DIR, 'gpt2-mini') },
    tokens: { type: 'string', default: '96' },
    rows: { type: 'string', default: '1' },
    'uncached-tokens': { type: 'string' },
  },
});
const backend = await initBackend('auto');
const model = await loadFrozenModel(args.model);
if (!isCausalLanguageModel(model)) throw new Error(`${model.modelType} is not decoder-only: its generation has no key/value cache here`);
const [n, d] = [20, model.dims.hiddenSize];
const input = Array.from({ length: 12 }, (_, i) => 100 + 7 * i);
const tokens = Math.min(Number(args.tokens), model.continuationRoom(n, input.length));
const uncachedTokens = Math.min(tokens, Number(args['uncached-tokens'] ?? tokens));
const prompt = tf.tidy(() => tf.matMul(tf.randomNormal([n, 4], 0, 1, 'float32', 1), tf.randomNormal([4, d], 0, 0.05, 'float32', 2)) as tf.Tensor2D);
const prefix = model.prefixState(prompt);
const rows = Number(args.rows);
const items = Array.from({ length: rows }, () => ({ prefix, input }));

/** Milliseconds of each new token (the first includes running the prompt's input). */
async function stepTimes(cache: boolean, count: number): Promise<number[]> {
  const times: number[] = [];
  let last = performance.now();
  const outputs = await generateTokens(model, items, {
    maxNewTokens: count, stopTokenIds: [], cache,
    onTokens: (heard) => {
      if (heard[0]?.row !== 0) return;
      const now = performance.now();
      times.push(now - last);
      last = now;
    },
  });
  if (outputs[0]!.length !== count) throw new Error(`made ${outputs[0]!.length} tokens, not ${count}`);
  return times;
}

await stepTimes(true, 4); // warm: kernels
const cached = await stepTimes(true, tokens);
const uncached = await stepTimes(false, uncachedTokens);
const BANDS: Array<[number, number]> = [[1, 1], [2, 8], [9, 16], [17, 32], [33, 64], [65, 128], [129, 256], [257, 512]];
const bands = BANDS.filter(([from]) => from <= tokens);
const mean = (times: number[], [from, to]: [number, number]) => {
  const slice = times.slice(from - 1, to);
  return slice.length ? (slice.reduce((a, b) => a + b, 0) / slice.length).toFixed(1) : '—';
};
console.log(`${model.modelType} ${args.model}, ${backendLabel(backend)}; ${rows} row(s), prompt n = ${n}, input ${input.length} tokens, ${tokens} new tokens`);
console.log('new tokens      ms/token with cache   ms/token without');
for (const band of bands) console.log(`${`${band[0]}–${Math.min(band[1], tokens)}`.padEnd(14)}  ${mean(cached, band).padStart(19)}   ${mean(uncached, band).padStart(16)}`);
const total = (times: number[]) => times.reduce((a, b) => a + b, 0) / 1000;
console.log(`total: ${total(cached).toFixed(2)} s with the cache (${tokens} tokens), ${total(uncached).toFixed(2)} s without (${uncachedTokens} tokens)`);
