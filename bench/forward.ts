/**
 * Tokens/s of one forward + backward pass (gradient with respect to a 20-row soft prompt) over
 * the first 16 SST-2 training sentences on a frozen model, for every backend that starts here.
 *
 *   npm run bench:forward -- [--model DIR] [--data FILE.tsv] [--iterations N]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BACKEND_NAMES, initBackend } from '../src/engine/backend.js';
import { loadFrozenModel } from '../src/engine/models/load-model.js';
import { classificationLoss } from '../src/engine/tasks/classification.js';
import { tf } from '../src/engine/tf.js';
import { loadTokenizer } from '../src/engine/tokenizer.js';
import { DATASETS_DIR, MODELS_DIR } from '../test/helpers/shared.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: join(MODELS_DIR, 'gpt2-mini') },
    data: { type: 'string', default: join(DATASETS_DIR, 'sst2', 'train.tsv') },
    iterations: { type: 'string', default: '5' },
  },
});
const BATCH = 16;
const PROMPT_ROWS = 20;
/** The pure-JavaScript backend is ~25× slower: fewer timed passes keep the run short. */
const SLOW_BACKENDS = new Set(['cpu']);

const sentences = readFileSync(args.data, 'utf8').split('\n').slice(1, 1 + BATCH).map((line) => line.split('\t')[0]!);
const tokenizer = await loadTokenizer(args.model);
const sequences = sentences.map((s) => tokenizer.encode(s));
const realTokens = sequences.reduce((sum, s) => sum + PROMPT_ROWS + s.length, 0);
const padded = BATCH * (PROMPT_ROWS + Math.max(...sequences.map((s) => s.length)));
const labelTokens = [' terrible', ' great'].map((w) => tokenizer.encode(w));
const labels = sentences.map((_, i) => i % 2);

console.log(`model ${args.model}; batch ${BATCH} SST-2 sentences + ${PROMPT_ROWS} prompt rows: ${realTokens} real tokens (${padded} with padding)`);
console.log('backend   | ms/pass (median) | real tokens/s | passes');
console.log('----------|------------------|---------------|-------');
for (const name of BACKEND_NAMES) {
  try {
    await initBackend(name);
  } catch {
    console.log(`${name.padEnd(9)} | not available here`);
    continue;
  }
  const model = await loadFrozenModel(args.model);
  const prompt = tf.randomNormal([PROMPT_ROWS, model.dims.hiddenSize], 0, 0.02, 'float32', 7) as tf.Tensor2D;
  const lossOf = (x: tf.Tensor) => classificationLoss(model, x as tf.Tensor2D, sequences, labels, labelTokens);
  const pass = async () => {
    const start = performance.now();
    const { value, grad } = tf.valueAndGrad(lossOf)(prompt);
    await grad.data();
    tf.dispose([value, grad]);
    return performance.now() - start;
  };
  await pass(); // warm-up: kernels and caches
  const passes = SLOW_BACKENDS.has(name) ? 2 : Number(args.iterations);
  const times = [];
  for (let i = 0; i < passes; i++) times.push(await pass());
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log(`${name.padEnd(9)} | ${median.toFixed(0).padStart(16)} | ${((realTokens / median) * 1000).toFixed(0).padStart(13)} | ${passes}`);
  prompt.dispose();
  model.dispose();
}
