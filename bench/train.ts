/**
 * Median step time and tokens/s of prompt-tuning steps (the trainer's own step: materialise the
 * prompt, forward, backward, clip, AdamW) on the first 16 SST-2 training sentences, n = 20, for
 * pt, lopt1 r=4 and lopt2 r=4, on every backend that starts here.
 *
 *   npm run bench:train -- [--model DIR] [--data FILE.tsv] [--steps N] [--backends wasm,cpu] [--json]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BACKEND_NAMES, initBackend, type BackendName } from '../src/engine/backend.js';
import { TASK_CATALOG } from '../src/engine/tasks/task-catalog.js';
import { readDatasetFile } from '../src/engine/datasets/parse-dataset.js';
import { loadFrozenModel } from '../src/engine/models/load-model.js';
import { resolvePromptSpec, type PromptSpec } from '../src/engine/prompts/prompt-spec.js';
import { SoftPrompt } from '../src/engine/prompts/soft-prompt.js';
import { objectiveFor } from '../src/engine/tasks/objective.js';
import { TaskEncoder } from '../src/engine/tasks/task-encoder.js';
import { loadTokenizer } from '../src/engine/tokenizer.js';
import { trainPrompt } from '../src/engine/training/trainer.js';
import { DATASETS_DIR, MODELS_DIR } from '../test/helpers/shared.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: join(MODELS_DIR, 'gpt2-mini') },
    data: { type: 'string', default: join(DATASETS_DIR, 'sst2', 'train.tsv') },
    steps: { type: 'string', default: '5' },
    backends: { type: 'string', default: BACKEND_NAMES.join(',') },
    json: { type: 'boolean', default: false },
  },
});
const BATCH = 16;
const N = 20;
const METHODS: PromptSpec[] = [
  { method: 'pt', n: N },
  { method: 'lopt1', n: N, r: 4 },
  { method: 'lopt2', n: N, r: 4 },
];
/** The pure-JavaScript backend is ~25× slower: fewer timed steps keep the run short. */
const STEPS: Partial<Record<BackendName, number>> = { cpu: 2 };

const rows = (await readDatasetFile(args.data, TASK_CATALOG.sst2.reading)).slice(0, BATCH);
const tokenizer = await loadTokenizer(args.model);
const log = (line: string) => args.json || console.log(line);

interface Result { backend: string; method: string; trainableParameters: number; medianStepMs: number; tokensPerSecond: number; steps: number }
const results: Result[] = [];
log(`model ${args.model}; batch ${BATCH} SST-2 sentences; n = ${N}`);
log('backend   | method | params | ms/step (median) | tokens/s | steps');
log('----------|--------|--------|------------------|----------|------');
for (const backend of args.backends.split(',') as BackendName[]) {
  try {
    await initBackend(backend);
  } catch {
    log(`${backend.padEnd(9)} | not available here`);
    continue;
  }
  const model = await loadFrozenModel(args.model);
  const encoder = new TaskEncoder(TASK_CATALOG.sst2.task, tokenizer, { maxPositions: model.dims.maxPositions, promptRows: N });
  const train = encoder.encodeAll(rows);
  const objective = objectiveFor(encoder, model);
  const tokens = objective.tokens(train, N);
  for (const spec of METHODS) {
    const prompt = SoftPrompt.initialise(resolvePromptSpec(spec, model.dims.hiddenSize), model, (t) => tokenizer.encode(t));
    const steps = STEPS[backend] ?? Number(args.steps);
    const times: number[] = [];
    let last = performance.now();
    await trainPrompt({
      prompt, objective, train,
      options: { batchSize: BATCH, maxSteps: steps + 1 },
      callbacks: {
        onStepEnd: () => {
          const now = performance.now();
          times.push(now - last);
          last = now;
        },
      },
    });
    const timed = times.slice(1).sort((a, b) => a - b); // the first step warms kernels and caches
    const medianStepMs = timed[Math.floor(timed.length / 2)]!;
    const result = { backend, method: spec.method, trainableParameters: prompt.trainableParameters, medianStepMs, tokensPerSecond: (tokens / medianStepMs) * 1000, steps };
    results.push(result);
    log(`${backend.padEnd(9)} | ${spec.method.padEnd(6)} | ${String(result.trainableParameters).padStart(6)} | ${medianStepMs.toFixed(0).padStart(16)} | ${result.tokensPerSecond.toFixed(0).padStart(8)} | ${steps}`);
    prompt.dispose();
  }
  model.dispose();
}
if (args.json) console.log(JSON.stringify({ model: args.model, batch: BATCH, n: N, results }, null, 2));
