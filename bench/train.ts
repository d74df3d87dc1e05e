/**
 * Median step time of prompt-tuning steps (the trainer's own step: materialise the prompt,
 * forward, backward, clip, AdamW) on the first 16 SST-2 training sentences, n = 20, for pt,
 * lopt1 r=4 and lopt2 r=4, on every backend and kernel path that starts here (each TF.js backend
 * with its own kernels, and with the OpenBLAS addon's where it is built), side by side with a
 * PyTorch implementation of the same step measured in the same run (bench/pytorch/).
 *
 *   npm run bench:train -- [--model DIR] [--data FILE.tsv] [--steps N] [--backends wasm,cpu]
 *                          [--paths wasm+openblas,…] [--methods pt,lopt1,lopt2] [--threads N]
 *                          [--python python3|none] [--pytorch-forms per-row,shared-prefix] [--json]
 *
 * --paths keeps only the kernel paths named (wasm, wasm+openblas, cpu, cpu+openblas, …); --threads N pins OpenBLAS and PyTorch
 * to N threads (default: OpenBLAS's own choice, and PyTorch at 1 and 2). Run one copy per core
 * with --threads 1 to compare throughput with every core busy.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BACKEND_NAMES, initBackend, type BackendName, type NativeKernelsMode } from '../src/engine/backend.js';
import { TASK_CATALOG } from '../src/engine/tasks/task-catalog.js';
import { readDatasetFile } from '../src/engine/datasets/parse-dataset.js';
import { EngineError } from '../src/engine/engine-error.js';
import type { FrozenModel, ModelDimensions } from '../src/engine/models/frozen-model.js';
import { loadFrozenModel } from '../src/engine/models/load-model.js';
import { loadNativeAddon } from '../src/engine/native/native-addon.js';
import { NATIVE_KERNEL_BACKENDS } from '../src/engine/native/native-kernels.js';
import { PROMPT_METHODS, resolvePromptSpec, type PromptMethod } from '../src/engine/prompts/prompt-spec.js';
import { SoftPrompt } from '../src/engine/prompts/soft-prompt.js';
import { scoredWords } from '../src/engine/tasks/classification.js';
import { objectiveFor } from '../src/engine/tasks/objective.js';
import { TaskEncoder } from '../src/engine/tasks/task-encoder.js';
import { loadTokenizer } from '../src/engine/tokenizer.js';
import { trainPrompt } from '../src/engine/training/trainer.js';
import { DATASETS_DIR, MODELS_DIR } from '../test/helpers/shared.js';
import { BASELINE_FORMS, findTorchPython, runPytorchBaseline, type BaselineForm, type BaselineRun } from './pytorch-baseline.js';
import { decoderShape, measureSgemmGflops, stepFlops, type StepShape } from './step-flops.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: join(MODELS_DIR, 'gpt2-mini') },
    data: { type: 'string', default: join(DATASETS_DIR, 'sst2', 'train.tsv') },
    steps: { type: 'string', default: '5' },
    backends: { type: 'string', default: BACKEND_NAMES.join(',') },
    paths: { type: 'string' },
    methods: { type: 'string', default: PROMPT_METHODS.join(',') },
    threads: { type: 'string' },
    python: { type: 'string', default: 'python3,/usr/bin/python3' },
    'pytorch-forms': { type: 'string', default: BASELINE_FORMS.join(',') },
    json: { type: 'boolean', default: false },
  },
});
const BATCH = 16;
const N = 20;
const R = 4;
const LEARNING_RATE = 0.03;
const CLIP = 1;
/** The pure-JavaScript backend's own kernels are ~25× slower: fewer timed steps keep the run short. */
const SLOW_PATH_STEPS = 2;
const steps = Number(args.steps);
const methods = args.methods.split(',') as PromptMethod[];
const threads = args.threads === undefined ? undefined : Number(args.threads);

const rows = (await readDatasetFile(args.data, TASK_CATALOG.sst2.reading)).slice(0, BATCH);
const tokenizer = await loadTokenizer(args.model);
const log = (line: string) => args.json || console.log(line);
const python = args.python === 'none' ? null : findTorchPython(args.python.split(','));

interface Path { backend: BackendName; native: NativeKernelsMode; label: string }
function kernelPaths(backend: BackendName): Path[] {
  const builtin: Path = { backend, native: 'off', label: backend };
  if (!NATIVE_KERNEL_BACKENDS.includes(backend)) return [builtin];
  return loadNativeAddon().addon ? [builtin, { backend, native: 'on', label: `${backend}+openblas` }] : [builtin];
}

interface Row { method: string; path: string; trainableParameters: number; medianStepMs: number; firstLoss: number; steps: number }
const rowsOut: Row[] = [];
const baselines = new Map<PromptMethod, BaselineRun>();
let tokens = 0;
let stepShape: StepShape | undefined;
let modelDims: ModelDimensions | undefined;

function report(row: Row): void {
  rowsOut.push(row);
  const best = baselines.get(row.method as PromptMethod)?.results.reduce((a, b) => (a.medianStepMs <= b.medianStepMs ? a : b));
  const ratio = best ? (row.medianStepMs / best.medianStepMs).toFixed(2) : '—';
  log(`${row.method.padEnd(6)} | ${row.path.padEnd(26)} | ${String(row.trainableParameters).padStart(6)} | ${row.medianStepMs.toFixed(0).padStart(7)} | ${((tokens / row.medianStepMs) * 1000).toFixed(0).padStart(8)} | ${ratio.padStart(10)} | ${row.firstLoss.toFixed(5)}`);
}

log(`model ${args.model}; batch ${BATCH} SST-2 sentences; n = ${N}, r = ${R}; median of ${steps} steps after one warm-up`);
log(python ? `baseline: PyTorch via ${python} (bench/pytorch/prompt_step.py), same batch and initial prompt` : `baseline: none (${args.python === 'none' ? 'not asked for' : `no Python with torch among ${args.python}; Debian: apt install python3-torch`})`);
log('method | path                       | params | ms/step | tokens/s | × PyTorch* | first loss');
log('-------|----------------------------|--------|---------|----------|------------|-----------');
for (const backend of args.backends.split(',') as BackendName[]) {
  for (const path of kernelPaths(backend).filter((p) => !args.paths || args.paths.split(',').includes(p.label))) {
    let label = path.label;
    try {
      const info = await initBackend(path.backend, { nativeKernels: path.native, ...(threads ? { nativeThreads: threads } : {}) });
      if (info.nativeKernels.active) label += ` ×${info.nativeKernels.threads}`;
    } catch {
      log(`       | ${path.label.padEnd(26)} | not available here`);
      continue;
    }
    let model: FrozenModel;
    try {
      model = await loadFrozenModel(args.model);
    } catch (err) {
      if (!(err instanceof EngineError && err.code === 'MODEL_TOO_LARGE')) throw err;
      log(`       | ${path.label.padEnd(26)} | refused: ${err.message}`);
      continue;
    }
    const encoder = new TaskEncoder(TASK_CATALOG.sst2.task, tokenizer, { maxPositions: model.dims.maxPositions, promptRows: N });
    const train = encoder.encodeAll(rows);
    const objective = objectiveFor(encoder, model);
    tokens = objective.tokens(train, N);
    stepShape = { lengths: train.map((e) => objective.tokens([e], 0)), prefix: N, scoredRows: train.length };
    modelDims = model.dims;
    for (const method of methods) {
      const prompt = await SoftPrompt.initialise(resolvePromptSpec({ method, n: N, ...(method === 'pt' ? {} : { r: R }) }, model.dims.hiddenSize), model, (t) => tokenizer.encode(t));
      if (python && !baselines.has(method)) {
        const baseline = await runPytorchBaseline(python, {
          model: args.model, inputs: train.map((e) => e.input), labels: train.map((e) => e.label!),
          labelTokens: encoder.labelTokens.map((word) => word[0]!), labelSequences: scoredWords(model, encoder.labelTokens), learningRate: LEARNING_RATE, clip: CLIP, steps, threads: threads ? [threads] : [1, 2],
          forms: args['pytorch-forms'].split(',') as BaselineForm[],
        }, prompt);
        baselines.set(method, baseline);
        for (const result of baseline.results) {
          report({ method, path: `pytorch ${result.form} ×${result.threads}`, trainableParameters: prompt.trainableParameters, medianStepMs: result.medianStepMs, firstLoss: result.firstLoss, steps });
        }
      }
      const timedSteps = path.backend === 'cpu' && path.native === 'off' ? SLOW_PATH_STEPS : steps;
      const times: number[] = [];
      let firstLoss = NaN;
      let last = performance.now();
      try {
        await trainPrompt({
          prompt, objective, train,
          options: { batchSize: BATCH, maxSteps: timedSteps + 1, learningRate: LEARNING_RATE, clipNorm: CLIP },
          callbacks: {
            onStepEnd: ({ loss }) => {
              const now = performance.now();
              times.push(now - last);
              last = now;
              if (Number.isNaN(firstLoss)) firstLoss = loss;
            },
          },
        });
      } catch (err) {
        // The batch's activations do not fit this path (the trainer refuses before the first step).
        if (!(err instanceof EngineError && err.code === 'BATCH_TOO_LARGE')) throw err;
        log(`${method.padEnd(6)} | ${path.label.padEnd(26)} | refused: ${err.message}`);
        prompt.dispose();
        continue;
      }
      const timed = times.slice(1).sort((a, b) => a - b); // the first step warms kernels and caches
      report({ method, path: label, trainableParameters: prompt.trainableParameters, medianStepMs: timed[Math.floor(timed.length / 2)]!, firstLoss, steps: timedSteps });
      prompt.dispose();
    }
    model.dispose();
  }
}
log(`* step time ÷ the fastest PyTorch step of the same method measured above (below 1: faster than PyTorch); ${tokens} token positions per step`);
const shape = decoderShape(args.model);
if (!shape) log('physical limit: not computed for an encoder-decoder');
if (stepShape && modelDims && shape) {
  const flops = stepFlops(shape, stepShape);
  const rows = stepShape.lengths.reduce((a, b) => a + b, 0);
  const gflops = measureSgemmGflops(rows, modelDims.hiddenSize, 4 * modelDims.hiddenSize);
  if (gflops) {
    const limitMs = flops / (gflops * 1e9) * 1000;
    log(`physical limit: ${(flops / 1e9).toFixed(1)} GFLOP of matrix multiplies per step ÷ ${gflops.toFixed(1)} GFLOP/s (OpenBLAS sgemm ${rows}×${modelDims.hiddenSize}·${modelDims.hiddenSize}×${4 * modelDims.hiddenSize}, its current threads) = ${limitMs.toFixed(0)} ms`);
    for (const row of rowsOut) log(`  ${row.path.padEnd(26)} ${row.method.padEnd(6)} ${(row.medianStepMs / limitMs).toFixed(2)}× the limit`);
  }
}
if (args.json) console.log(JSON.stringify({ model: args.model, batch: BATCH, n: N, r: R, tokens, baselines: Object.fromEntries(baselines), results: rowsOut }, null, 2));
