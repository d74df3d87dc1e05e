/**
 * Training and evaluation leave the event loop free between steps and batches: a worker's lock
 * renewals, cancel messages and SIGTERM are timers and I/O, and on wasm reading a tensor resolves
 * as a microtask, so a loop that never yields starves them for a whole evaluation.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { EngineError } from '../../src/engine/engine-error.js';
import { resolvePromptSpec, type PromptSpec } from '../../src/engine/prompts/prompt-spec.js';
import { SoftPrompt } from '../../src/engine/prompts/soft-prompt.js';
import { objectiveFor, type TrainingObjective } from '../../src/engine/tasks/objective.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { TaskEncoder, type EncodedExample } from '../../src/engine/tasks/task-encoder.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/engine/training/checkpoint-codec.js';
import type { TrainingCheckpoint } from '../../src/engine/training/checkpoint.js';
import { trainPrompt, type TrainRun } from '../../src/engine/training/trainer.js';
import { loadGpt2Mini, sst2Rows, type LoadedModel } from '../helpers/engine-fixtures.js';

let loaded: LoadedModel;
let objective: TrainingObjective;
let train: EncodedExample[];
let validation: EncodedExample[];
const SPEC: PromptSpec = { method: 'lopt1', n: 4, r: 2, seed: 3 };
/**
 * The longest pause of the event loop tolerated, as a share of the whole run: one evaluation batch
 * of 19 (or one step of 60) plus slack. Without yielding the pause is the whole run. A share, not
 * milliseconds, because the suite runs files side by side on few cores and every batch slows alike.
 */
const MAX_GAP_SHARE = 0.2;

before(async () => {
  loaded = await loadGpt2Mini();
  const encoder = new TaskEncoder(TASK_CATALOG.sst2.task, loaded.tokenizer, { maxPositions: loaded.model.dims.maxPositions, promptRows: SPEC.n });
  const rows = encoder.encodeAll(await sst2Rows(316));
  train = rows.slice(0, 16);
  validation = rows.slice(16);
  objective = objectiveFor(encoder, loaded.model);
});
after(() => loaded.model.dispose());

const newPrompt = () => SoftPrompt.initialise(resolvePromptSpec(SPEC, loaded.model.dims.hiddenSize), loaded.model, (t) => loaded.tokenizer.encode(t));
const values = async (prompt: SoftPrompt) => [...(await prompt.parameterValues()).values()].flatMap((t) => Array.from(t.data));

/** Records the longest interval between ticks of a 10 ms timer until stopped. */
function watchEventLoop(): { stop(): number } {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 10);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(longest, performance.now() - last);
    },
  };
}

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number; longestGapMs: number }> {
  const watch = watchEventLoop();
  const started = performance.now();
  const result = await work();
  const ms = performance.now() - started;
  return { result, ms, longestGapMs: watch.stop() };
}

test('an evaluation of many rows lets timers run between its batches', async (t) => {
  const prompt = await newPrompt();
  const X = prompt.materialize();
  const { result, ms, longestGapMs } = await timed(() => objective.evaluate(X, validation, 8));
  X.dispose();
  prompt.dispose();
  t.diagnostic(`evaluation of ${validation.length} rows in 38 batches: ${ms.toFixed(0)} ms, longest event-loop gap ${longestGapMs.toFixed(0)} ms`);
  assert.ok(result.accuracy! >= 0 && result.accuracy! <= 1);
  assert.ok(longestGapMs < MAX_GAP_SHARE * ms, `the event loop stalled for ${longestGapMs.toFixed(0)} ms during a ${ms.toFixed(0)} ms evaluation`);
});

test('training steps let timers run between them, with no callbacks doing I/O', async (t) => {
  const prompt = await newPrompt();
  await trainPrompt({ prompt, objective, train, options: { batchSize: 4, maxSteps: 1 } }); // the backward kernels' first run is slower
  const { ms, longestGapMs } = await timed(() => trainPrompt({ prompt, objective, train, options: { batchSize: 4, maxSteps: 60, seed: 1 } }));
  prompt.dispose();
  t.diagnostic(`60 steps: ${ms.toFixed(0)} ms, longest event-loop gap ${longestGapMs.toFixed(0)} ms`);
  assert.ok(longestGapMs < MAX_GAP_SHARE * ms, `the event loop stalled for ${longestGapMs.toFixed(0)} ms during ${ms.toFixed(0)} ms of training`);
});

test('an abort during an evaluation ends the run within a batch; its checkpoint owes the evaluation, and resuming ends as the uninterrupted run', async (t) => {
  const options = { batchSize: 4, maxSteps: 4, evalEvery: 2, evalBatchSize: 8, seed: 2 };
  const shorter = validation.slice(0, 150); // still seconds to evaluate, in batches of tens of milliseconds
  const run = (prompt: SoftPrompt, extra: Partial<TrainRun>) => trainPrompt({ prompt, objective, train, validation: shorter, options, ...extra });

  const whole = await newPrompt();
  const wholeEvaluations: number[] = [];
  let evaluationStarted = 0;
  let evaluationMs = 0; // of step 2's evaluation (19 batches)
  const wholeResult = await run(whole, {
    callbacks: {
      onStepEnd: ({ step }) => void (step === 2 && (evaluationStarted = performance.now())),
      onEvaluation: ({ step }) => void (wholeEvaluations.push(step), step === 2 && (evaluationMs = performance.now() - evaluationStarted)),
    },
  });
  assert.deepEqual(wholeEvaluations, [2, 4]);

  const controller = new AbortController();
  const interrupted = await newPrompt();
  const evaluations: number[] = [];
  const checkpoints: TrainingCheckpoint[] = [];
  let abortedAt = 0;
  const started = performance.now();
  await assert.rejects(
    run(interrupted, {
      signal: controller.signal,
      callbacks: {
        // Step 2's evaluation starts right after this: abort a third of the way through it.
        onStepEnd: ({ step }) => {
          if (step === 2) setTimeout(() => ((abortedAt = performance.now()), controller.abort()), evaluationMs / 3);
        },
        onEvaluation: ({ step }) => void evaluations.push(step),
        onCheckpoint: (checkpoint) => void checkpoints.push(decodeCheckpoint({ bytes: encodeCheckpoint(checkpoint), name: 'checkpoint' })),
      },
    }),
    (err: EngineError) => err.code === 'CANCELLED' && /after 2 steps, during an evaluation/.test(err.message),
  );
  const stoppedMs = performance.now() - abortedAt;
  interrupted.dispose();
  t.diagnostic(`stopped ${stoppedMs.toFixed(0)} ms after the abort, in an evaluation of ${evaluationMs.toFixed(0)} ms`);
  assert.ok(abortedAt > started, 'the abort never fired');
  assert.deepEqual(evaluations, [], 'the evaluation of step 2 finished although it was aborted');
  assert.ok(stoppedMs < MAX_GAP_SHARE * evaluationMs, `the run took ${stoppedMs.toFixed(0)} ms to stop after the abort, in an evaluation of ${evaluationMs.toFixed(0)} ms`);
  assert.equal(checkpoints.length, 1);
  const [checkpoint] = checkpoints;
  assert.equal(checkpoint!.step, 2);
  assert.equal(checkpoint!.evaluationPending, true, 'the checkpoint (through its codec) does not say the evaluation is owed');

  const resumed = await newPrompt();
  const resumedEvaluations: number[] = [];
  const resumedResult = await run(resumed, { resumeFrom: checkpoint!, callbacks: { onEvaluation: ({ step }) => void resumedEvaluations.push(step) } });
  assert.deepEqual(resumedEvaluations, [2, 4]);
  assert.deepEqual(resumedResult.best, wholeResult.best);
  assert.deepEqual(resumedResult.finalMetrics, wholeResult.finalMetrics);
  assert.deepEqual(await values(resumed), await values(whole));
  whole.dispose();
  resumed.dispose();
});
