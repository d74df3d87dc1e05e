import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { EngineError } from '../../src/engine/engine-error.js';
import { resolvePromptSpec, type PromptSpec } from '../../src/engine/prompts/prompt-spec.js';
import { SoftPrompt } from '../../src/engine/prompts/soft-prompt.js';
import { objectiveFor, type TrainingObjective } from '../../src/engine/tasks/objective.js';
import type { EncodedExample } from '../../src/engine/tasks/task-encoder.js';
import { TaskEncoder } from '../../src/engine/tasks/task-encoder.js';
import { tf } from '../../src/engine/tf.js';
import { epochBatches } from '../../src/engine/training/batches.js';
import type { TrainingCheckpoint } from '../../src/engine/training/checkpoint.js';
import { encodeCheckpoint, decodeCheckpoint } from '../../src/engine/training/checkpoint-codec.js';
import { learningRateAt } from '../../src/engine/training/lr-schedule.js';
import { trainPrompt, type TrainRun } from '../../src/engine/training/trainer.js';
import { loadGpt2Mini, sst2Rows, type LoadedModel } from '../helpers/engine-fixtures.js';
import { tempDir } from '../helpers/temp-dir.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';

let loaded: LoadedModel;
let objective: TrainingObjective;
let train: EncodedExample[];
let validation: EncodedExample[];
const SPEC: PromptSpec = { method: 'lopt1', n: 4, r: 2, seed: 9 };

before(async () => {
  loaded = await loadGpt2Mini();
  const encoder = new TaskEncoder(TASK_CATALOG.sst2.task, loaded.tokenizer, { maxPositions: loaded.model.dims.maxPositions, promptRows: 4 });
  const rows = encoder.encodeAll(await sst2Rows(24));
  train = rows.slice(0, 16);
  validation = rows.slice(16);
  objective = objectiveFor(encoder, loaded.model);
});
after(() => loaded.model.dispose());

const newPrompt = (spec: PromptSpec = SPEC) =>
  SoftPrompt.initialise(resolvePromptSpec(spec, loaded.model.dims.hiddenSize), loaded.model, (t) => loaded.tokenizer.encode(t));
const run = (prompt: SoftPrompt, extra: Partial<TrainRun> = {}) =>
  trainPrompt({ prompt, objective, train, validation, options: { batchSize: 4, maxSteps: 6, evalEvery: 3, seed: 2 }, ...extra });
const values = async (prompt: SoftPrompt) => [...(await prompt.parameterValues()).values()].flatMap((t) => Array.from(t.data));
const isCode = (code: string, message: RegExp) => (err: EngineError) => err.code === code && message.test(err.message);

test('a run resumed from a checkpoint ends with the same prompt as an uninterrupted one', async () => {
  const whole = await newPrompt();
  const wholeResult = await run(whole, { options: { batchSize: 4, maxSteps: 6, evalEvery: 3, seed: 2, keepBest: false } });

  const path = join(tempDir(), 'step3.checkpoint');
  const controller = new AbortController();
  const first = await newPrompt();
  await assert.rejects(
    run(first, {
      options: { batchSize: 4, maxSteps: 6, evalEvery: 3, seed: 2, keepBest: false, checkpointEvery: 3 },
      signal: controller.signal,
      callbacks: {
        onCheckpoint: (checkpoint: TrainingCheckpoint) => {
          writeFileSync(path, encodeCheckpoint(checkpoint));
          controller.abort();
        },
      },
    }),
    isCode('CANCELLED', /training cancelled after 3 steps/),
  );
  first.dispose();

  const resumed = await newPrompt({ ...SPEC, seed: 10 }); // its own init is overwritten by the checkpoint
  const checkpoint = decodeCheckpoint(path);
  assert.equal(checkpoint.step, 3);
  const resumedResult = await run(resumed, { options: { batchSize: 4, maxSteps: 6, evalEvery: 3, seed: 2, keepBest: false }, resumeFrom: checkpoint });
  assert.deepEqual(await values(resumed), await values(whole));
  assert.deepEqual(resumedResult.best, wholeResult.best);
  assert.equal(resumedResult.steps, 6);
  whole.dispose();
  resumed.dispose();
});

test('training lowers the training loss', async () => {
  const prompt = await newPrompt({ method: 'pt', n: 4, seed: 1 });
  const lossOn = async () => {
    const X = prompt.materialize();
    const { loss } = await objective.evaluate(X, train, 16);
    X.dispose();
    return loss;
  };
  const before = await lossOn();
  await trainPrompt({ prompt, objective, train, options: { batchSize: 8, maxSteps: 12, learningRate: 0.05, seed: 1 } });
  const after = await lossOn();
  assert.ok(after < before - 0.05, `loss ${before} → ${after}`);
  prompt.dispose();
});

test('keep-best ends with the prompt of the best evaluation, and early stopping stops', async () => {
  const prompt = await newPrompt();
  const snapshots = new Map<number, number[]>();
  const result = await run(prompt, {
    options: { batchSize: 4, maxSteps: 8, evalEvery: 1, seed: 2, learningRate: 1e-9, earlyStoppingPatience: 2 },
    callbacks: { onEvaluation: async ({ step }) => void snapshots.set(step, await values(prompt)) },
  });
  // A learning rate of 1e-9 changes nothing measurable: the first evaluation stays the best.
  assert.equal(result.stoppedBy, 'early-stopping');
  assert.equal(result.steps, 3);
  assert.equal(result.best?.step, 1);
  assert.deepEqual(await values(prompt), snapshots.get(1));
  prompt.dispose();
});

test('cancellation is seen between steps, and hands over a checkpoint of where it stopped', async () => {
  const controller = new AbortController();
  const prompt = await newPrompt();
  const saved: number[] = [];
  await assert.rejects(
    run(prompt, {
      signal: controller.signal,
      callbacks: { onStepEnd: ({ step }) => void (step === 2 && controller.abort()), onCheckpoint: ({ step }) => void saved.push(step) },
    }),
    isCode('CANCELLED', /after 2 steps/),
  );
  assert.deepEqual(saved, [2]);
  prompt.dispose();
});

test('a NaN loss stops the run with the reason', async () => {
  const prompt = await newPrompt();
  const poisoned = new Map([...(await prompt.parameterValues())].map(([name, t]) => [name, { ...t, data: new Float32Array(t.data.length).fill(NaN) }]));
  prompt.assign(poisoned);
  await assert.rejects(run(prompt), isCode('TRAINING_DIVERGED', /the loss became NaN at step 1/));
  prompt.dispose();
});

test('consecutive runs leave no tensors behind', async () => {
  const before = tf.memory().numTensors;
  for (let i = 0; i < 2; i++) {
    const prompt = await newPrompt();
    await run(prompt);
    prompt.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  assert.equal(Object.keys(tf.engine().registeredVariables).length, 0);
});

test('vLearningRateRatio scales the steps of V alone', async () => {
  // One step from the same start: U's gradient does not depend on V's rate yet, and Adam's first
  // step is linear in the learning rate, so U moves the same and V twice as far at ratio 2.
  const stepFromStart = async (vLearningRateRatio: number) => {
    const prompt = await newPrompt();
    const start = await prompt.parameterValues();
    await trainPrompt({ prompt, objective, train, options: { batchSize: 4, maxSteps: 1, warmupRatio: 0, seed: 2, vLearningRateRatio } });
    const end = await prompt.parameterValues();
    prompt.dispose();
    const move = (name: string) => Array.from(end.get(name)!.data, (value, i) => value - start.get(name)!.data[i]!);
    return { U: move('U'), V: move('V') };
  };
  const [plain, doubled] = [await stepFromStart(1), await stepFromStart(2)];
  const close = (a: number[], b: number[]) => a.every((value, i) => Math.abs(value - b[i]!) <= 1e-6 + 1e-3 * Math.abs(b[i]!));
  assert.ok(plain.V.some((value) => Math.abs(value) > 1e-4), 'V moved');
  assert.ok(close(doubled.U, plain.U), 'U moves the same');
  assert.ok(close(doubled.V, plain.V.map((value) => 2 * value)), 'V moves twice as far');
  assert.ok(!close(doubled.V, plain.V), 'and not as far as at ratio 1');
});

test('bad options and an empty training set are refused', async () => {
  const prompt = await newPrompt();
  await assert.rejects(run(prompt, { options: { vLearningRateRatio: 0 } }), /vLearningRateRatio must be in \(0, 1000\], got 0/);
  const pt = await newPrompt({ method: 'pt', n: 4, seed: 1 });
  await assert.rejects(run(pt, { options: { vLearningRateRatio: 3 } }), /vLearningRateRatio applies to lopt1 and lopt2 only/);
  pt.dispose();
  await assert.rejects(run(prompt, { options: { batchSize: 0 } }), /batchSize must be an integer ≥ 1, got 0/);
  await assert.rejects(run(prompt, { options: { schedule: 'step' as 'linear' } }), /schedule must be one of linear, cosine, constant/);
  await assert.rejects(run(prompt, { train: [] }), /the training set has no examples/);
  prompt.dispose();
});

test('the schedule warms up linearly, then decays linearly or by cosine to zero', () => {
  assert.equal(learningRateAt(0, 1, 4, 20, 'linear'), 0.25);
  assert.equal(learningRateAt(3, 1, 4, 20, 'linear'), 1);
  assert.equal(learningRateAt(12, 1, 4, 20, 'linear'), 0.5);
  assert.ok(Math.abs(learningRateAt(12, 1, 4, 20, 'cosine') - 0.5) < 1e-12);
  assert.equal(learningRateAt(20, 1, 4, 20, 'cosine'), 0);
  assert.equal(learningRateAt(15, 1, 4, 20, 'constant'), 1);
});

test('epoch batches cover every example once, reproducibly, and bucketing cuts padding', () => {
  const lengths = Array.from({ length: 100 }, (_, i) => 5 + ((i * 37) % 60));
  const padding = (batches: number[][]) => batches.reduce((sum, b) => sum + b.length * Math.max(...b.map((i) => lengths[i]!)) - b.reduce((s, i) => s + lengths[i]!, 0), 0);
  for (const bucket of [false, true]) {
    const batches = epochBatches(lengths, 8, 3, 0, bucket);
    assert.deepEqual(batches.flat().sort((a, b) => a - b), lengths.map((_, i) => i));
    assert.deepEqual(epochBatches(lengths, 8, 3, 0, bucket), batches);
    assert.notDeepEqual(epochBatches(lengths, 8, 3, 1, bucket), batches);
  }
  assert.ok(padding(epochBatches(lengths, 8, 3, 0, true)) < padding(epochBatches(lengths, 8, 3, 0, false)) / 2);
});
