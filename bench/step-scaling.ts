/**
 * How a LoPT-1 step's time grows with the batch: by batch size at one input length, and by input
 * length at one batch size, on the default backend (n = 20, r = 4, SST-2's task on synthetic
 * inputs of exactly L tokens). Time per token position should stay flat: every cost of a step
 * (the layers, packing padded rows, attention within a row) grows linearly in the batch's tokens
 * or, for attention, in each row's length squared.
 *
 *   npm run bench:step-scaling -- --model DIR [--batches 4,8,16,32] [--lengths 16,32,64,128] [--steps 3]
 */
import { parseArgs } from 'node:util';
import { backendLabel, initBackend } from '../src/engine/backend.js';
import { loadFrozenModel } from '../src/engine/models/load-model.js';
import { resolvePromptSpec } from '../src/engine/prompts/prompt-spec.js';
import { SoftPrompt } from '../src/engine/prompts/soft-prompt.js';
import { Rng } from '../src/engine/random.js';
import { objectiveFor } from '../src/engine/tasks/objective.js';
import { TASK_CATALOG } from '../src/engine/tasks/task-catalog.js';
import { TaskEncoder, type EncodedExample } from '../src/engine/tasks/task-encoder.js';
import { loadTokenizer } from '../src/engine/tokenizer.js';
import { trainPrompt } from '../src/engine/training/trainer.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    batches: { type: 'string', default: '4,8,16,32' },
    lengths: { type: 'string', default: '16,32,64,128' },
    'fixed-length': { type: 'string', default: '32' },
    'fixed-batch': { type: 'string', default: '16' },
    steps: { type: 'string', default: '3' },
  },
});
if (!args.model) {
  console.error('usage: --model DIR [--batches 4,8,16,32] [--lengths 16,32,64,128] [--steps N]');
  process.exit(2);
}
const N = 20;
const steps = Number(args.steps);
const backend = await initBackend('auto');
const model = await loadFrozenModel(args.model);
const tokenizer = await loadTokenizer(args.model);
const encoder = new TaskEncoder(TASK_CATALOG.sst2.task, tokenizer, { maxPositions: model.dims.maxPositions, promptRows: N });
const objective = objectiveFor(encoder, model);
const rng = new Rng(0);

/** B examples of exactly L random tokens, labels alternating. */
const examples = (B: number, L: number): EncodedExample[] =>
  Array.from({ length: B }, (_, i) => ({ line: i + 1, input: Array.from({ length: L }, () => rng.int(model.dims.vocabSize)), label: i % 2 }));

/** Median ms of `steps` steps after one warm-up, on one batch of B rows of L tokens. */
async function stepMs(B: number, L: number): Promise<number> {
  const prompt = await SoftPrompt.initialise(resolvePromptSpec({ method: 'lopt1', n: N, r: 4 }, model.dims.hiddenSize), model, (t) => tokenizer.encode(t));
  const times: number[] = [];
  let last = performance.now();
  await trainPrompt({
    prompt, objective, train: examples(B, L),
    options: { batchSize: B, maxSteps: steps + 1, learningRate: 0.03 },
    callbacks: {
      onStepEnd: () => {
        const now = performance.now();
        times.push(now - last);
        last = now;
      },
    },
  });
  prompt.dispose();
  const timed = times.slice(1).sort((a, b) => a - b);
  return timed[Math.floor(timed.length / 2)]!;
}

console.log(`model ${args.model} on ${backendLabel(backend)}; lopt1, n = ${N}, r = 4; median of ${steps} steps after one warm-up`);
// Token rows: the positions each row runs through the layers (its input and label word; the shared prompt runs once per step).
console.log('batch | input tokens | token rows | ms/step | µs per token row');
console.log('------|--------------|------------|---------|-----------------');
const row = async (B: number, L: number) => {
  const ms = await stepMs(B, L);
  const tokenRows = objective.tokens(examples(B, L), 0);
  console.log(`${String(B).padStart(5)} | ${String(L).padStart(12)} | ${String(tokenRows).padStart(10)} | ${ms.toFixed(0).padStart(7)} | ${((ms * 1000) / tokenRows).toFixed(0).padStart(16)}`);
};
for (const B of args.batches.split(',').map(Number)) await row(B, Number(args['fixed-length']));
for (const L of args.lengths.split(',').map(Number)) await row(Number(args['fixed-batch']), L);
model.dispose();
