/**
 * Trains a soft prompt against a frozen model: AdamW on the prompt's parameters only, warm-up and
 * decay, gradient clipping, length-bucketed batches, periodic evaluation with keep-best and early
 * stopping, checkpoints that resume identically, cancellation between steps and between
 * evaluation batches. The event loop gets a turn between steps and between evaluation batches, so
 * a worker's timers and messages are served while it trains.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { assertBackendHealthy } from '../backend.js';
import { guardBackend } from '../backend-guard.js';
import { EngineError } from '../engine-error.js';
import type { SoftPrompt } from '../prompts/soft-prompt.js';
import type { HostTensor } from '../safetensors.js';
import type { EncodedExample } from '../tasks/task-encoder.js';
import type { EvaluationMetrics, TrainingObjective } from '../tasks/objective.js';
import { tf } from '../tf.js';
import { AdamW } from './adamw.js';
import { epochBatches } from './batches.js';
import type { TrainingCheckpoint } from './checkpoint.js';
import { learningRateAt } from './lr-schedule.js';
import { checkOptionsFitMethod, resolveTrainOptions, type TrainOptions } from './train-options.js';
import { variableGrads } from './variable-grads.js';

export interface TrainingProgress {
  readonly step: number;
  readonly totalSteps: number;
  readonly epoch: number;
  readonly loss: number;
  readonly learningRate: number;
  /** Before clipping. */
  readonly gradNorm: number;
  readonly tokensPerSecond: number;
  readonly etaSeconds: number;
}

export interface TrainCallbacks {
  onStepEnd?(progress: TrainingProgress): void | Promise<void>;
  onEvaluation?(evaluation: { step: number; metrics: EvaluationMetrics; isBest: boolean }): void | Promise<void>;
  onCheckpoint?(checkpoint: TrainingCheckpoint): void | Promise<void>;
}

export interface TrainRun {
  readonly prompt: SoftPrompt;
  readonly objective: TrainingObjective;
  readonly train: readonly EncodedExample[];
  readonly validation?: readonly EncodedExample[];
  readonly options?: TrainOptions;
  readonly callbacks?: TrainCallbacks;
  /**
   * Checked before every step and every evaluation batch: an aborted run hands its state to
   * onCheckpoint (when given), so that it can resume later, then throws EngineError CANCELLED.
   */
  readonly signal?: AbortSignal;
  readonly resumeFrom?: TrainingCheckpoint;
}

export interface TrainResult {
  readonly steps: number;
  readonly stoppedBy: 'completed' | 'early-stopping';
  readonly best: { readonly step: number; readonly metrics: EvaluationMetrics } | null;
  /** The last evaluation's metrics, if there is a validation set. */
  readonly finalMetrics: EvaluationMetrics | null;
  readonly wallSeconds: number;
}

type Best = TrainingCheckpoint['best'];

const toRecord = (values: Map<string, HostTensor>) => Object.fromEntries(values);

/** Steps a run of `examples` takes: epochs × batches per epoch, cut at maxSteps (epochs unbounded when only maxSteps is given). */
export function totalTrainingSteps(examples: number, options: TrainOptions): number {
  const { batchSize, maxSteps } = resolveTrainOptions(options);
  const epochs = options.epochs ?? (maxSteps ? Infinity : 1);
  return Math.min(maxSteps ?? Infinity, epochs * Math.ceil(examples / batchSize));
}

/** Evaluations a run of `totalSteps` makes when it has a validation set, at most (early stopping can end it sooner): every evalEvery steps, and at the end. */
export function evaluationCount(totalSteps: number, options: TrainOptions): number {
  const { evalEvery } = resolveTrainOptions(options);
  return evalEvery ? Math.ceil(totalSteps / evalEvery) : 1;
}

export async function trainPrompt(run: TrainRun): Promise<TrainResult> {
  const { prompt, objective, train, validation = [], callbacks = {}, signal } = run;
  const options = resolveTrainOptions(run.options ?? {});
  checkOptionsFitMethod(prompt.spec.method, run.options ?? {});
  if (train.length === 0) throw new EngineError('DATASET_INVALID', 'the training set has no examples');
  const totalSteps = totalTrainingSteps(train.length, run.options ?? {});
  const warmupSteps = Math.round(options.warmupRatio * totalSteps);
  const lengths = train.map((e) => e.input.length);
  const planFor = (epoch: number) => epochBatches(lengths, options.batchSize, options.seed, epoch, options.bucketByLength);

  const optimizer = new AdamW(factorLearningRates(prompt, options.vLearningRateRatio), { weightDecay: options.weightDecay });
  let { step, epoch, batchInEpoch, best, evaluationsWithoutImprovement: stale } = run.resumeFrom ?? {
    step: 0, epoch: 0, batchInEpoch: 0, best: null as Best, evaluationsWithoutImprovement: 0,
  };
  // Set while an evaluation runs: one cancelled then is owed by the checkpoint, and done first on resume.
  let evaluationPending = run.resumeFrom?.evaluationPending ?? false;
  if (run.resumeFrom) {
    prompt.assign(new Map(Object.entries(run.resumeFrom.params)));
    optimizer.restore(run.resumeFrom.optimizer);
  }

  // The largest batches the run can make are refused now, not at the step that first meets them.
  const longest = (examples: readonly EncodedExample[], size: number) =>
    examples
      .map((example) => ({ example, tokens: objective.tokens([example], 0) }))
      .sort((a, b) => b.tokens - a.tokens)
      .slice(0, size)
      .map(({ example }) => example);
  objective.assertFits(longest(train, options.batchSize), prompt.spec.n, true);
  if (validation.length) objective.assertFits(longest(validation, options.evalBatchSize), prompt.spec.n, false);

  const started = performance.now();
  const stepsAtStart = step;
  let plan = planFor(epoch);
  let finalMetrics: EvaluationMetrics | null = null;
  let evaluatedAt = -1;
  let stoppedBy: TrainResult['stoppedBy'] = 'completed';

  const evaluationWork = {
    what: `the evaluation of ${validation.length} examples in batches of ${options.evalBatchSize}`,
    remedy: 'use a smaller evalBatchSize, or shorter inputs',
  };
  const evaluate = async () => {
    evaluationPending = true;
    try {
      finalMetrics = await guardBackend(evaluationWork, async () => {
        const X = prompt.materialize();
        try {
          const metrics = await objective.evaluate(X, validation, options.evalBatchSize, signal);
          assertBackendHealthy();
          return metrics;
        } finally {
          X.dispose();
        }
      });
    } catch (err) {
      if (err instanceof EngineError && err.code === 'CANCELLED') await cancel();
      throw err;
    }
    evaluationPending = false;
    evaluatedAt = step;
    const isBest = !best || objective.score(finalMetrics) > objective.score(best.metrics);
    if (isBest) best = { step, metrics: finalMetrics, params: toRecord(await prompt.parameterValues()) };
    stale = isBest ? 0 : stale + 1;
    await callbacks.onEvaluation?.({ step, metrics: finalMetrics, isBest });
  };

  let checkpointedAt = run.resumeFrom?.step ?? 0;
  const checkpoint = async () => {
    checkpointedAt = step;
    await callbacks.onCheckpoint?.({
      step, epoch, batchInEpoch, best, evaluationsWithoutImprovement: stale,
      params: toRecord(await prompt.parameterValues()),
      optimizer: await optimizer.state(),
      ...(evaluationPending ? { evaluationPending } : {}),
    });
  };
  /** Ends an aborted run, handing over a checkpoint of where it stopped if it got further than the last. */
  const cancel = async (): Promise<never> => {
    if (step > checkpointedAt) await checkpoint();
    throw new EngineError('CANCELLED', `training cancelled after ${step} steps${evaluationPending ? ', during an evaluation' : ''}`);
  };
  /** What follows a step: its evaluation when due, then its checkpoint when due. True when early stopping ends the run. */
  const endOfStep = async (): Promise<boolean> => {
    if (validation.length && options.evalEvery && step % options.evalEvery === 0) {
      await evaluate();
      if (options.earlyStoppingPatience && stale >= options.earlyStoppingPatience) return true;
    }
    if (options.checkpointEvery && step % options.checkpointEvery === 0) await checkpoint();
    return false;
  };

  try {
    // A run cancelled during an evaluation resumes with that evaluation, as the uninterrupted run went on.
    let stoppedEarly = evaluationPending && (await endOfStep());
    while (!stoppedEarly && step < totalSteps) {
      await yieldToEventLoop();
      if (signal?.aborted) await cancel();
      if (batchInEpoch >= plan.length) {
        epoch += 1;
        batchInEpoch = 0;
        plan = planFor(epoch);
      }
      const batch = plan[batchInEpoch]!.map((i) => train[i]!);
      const stepStart = performance.now();
      const learningRate = learningRateAt(step, options.learningRate, warmupSteps, totalSteps, options.schedule);
      const { loss, gradNorm } = await guardBackend(stepWork(batch, prompt.spec.n), () =>
        trainingStep(prompt, objective, optimizer, batch, learningRate, options.clipNorm, step),
      );
      step += 1;
      batchInEpoch += 1;
      const seconds = (performance.now() - stepStart) / 1000;
      const perStep = (performance.now() - started) / 1000 / (step - stepsAtStart);
      await callbacks.onStepEnd?.({
        step, totalSteps, epoch, loss, learningRate, gradNorm,
        tokensPerSecond: objective.tokens(batch, prompt.spec.n) / seconds,
        etaSeconds: perStep * (totalSteps - step),
      });
      stoppedEarly = await endOfStep();
    }
    if (stoppedEarly) stoppedBy = 'early-stopping';
    else if (validation.length && evaluatedAt !== step) await evaluate();
    const kept = best as Best;
    if (options.keepBest && kept) prompt.assign(new Map(Object.entries(kept.params)));
    return {
      steps: step,
      stoppedBy,
      best: kept && { step: kept.step, metrics: kept.metrics },
      finalMetrics,
      wallSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    optimizer.dispose();
  }
}

function stepWork(batch: readonly EncodedExample[], promptRows: number) {
  const longest = promptRows + Math.max(...batch.map((e) => e.input.length));
  return {
    what: `a training step of ${batch.length} examples (up to ${longest} positions each)`,
    remedy: 'use a smaller batchSize, or shorter inputs or fewer prompt rows',
  };
}

/** The prompt's variables, V at `vLearningRateRatio` times the learning rate. */
function factorLearningRates(prompt: SoftPrompt, vLearningRateRatio: number) {
  return prompt.variables.map((param) => (param.name === 'V' ? { ...param, learningRateScale: vLearningRateRatio } : param));
}

/** One update: loss and gradients, the NaN/Inf check, clipping, AdamW. */
async function trainingStep(
  prompt: SoftPrompt,
  objective: TrainingObjective,
  optimizer: AdamW,
  batch: readonly EncodedExample[],
  learningRate: number,
  clipNorm: number,
  step: number,
): Promise<{ loss: number; gradNorm: number }> {
  const variables = prompt.variables.map(({ variable }) => variable);
  const { value, grads } = variableGrads(() => objective.loss(prompt.materialize(), batch), variables);
  const gradients = variables.map((v) => grads[v.name]!);
  const norm = tf.tidy(() => tf.sqrt(tf.addN(gradients.map((g) => tf.sum(tf.square(g))))));
  try {
    const [loss, gradNorm] = [(await value.data())[0]!, (await norm.data())[0]!];
    assertBackendHealthy();
    if (!Number.isFinite(loss)) throw new EngineError('TRAINING_DIVERGED', `the loss became ${loss} at step ${step + 1}`);
    if (!Number.isFinite(gradNorm)) throw new EngineError('TRAINING_DIVERGED', `the gradient norm became ${gradNorm} at step ${step + 1}`);
    const scale = clipNorm > 0 && gradNorm > clipNorm ? clipNorm / gradNorm : 1;
    const clipped = scale === 1 ? gradients : gradients.map((g) => tf.mul(g, scale));
    optimizer.apply(clipped, learningRate);
    if (clipped !== gradients) tf.dispose(clipped);
    return { loss, gradNorm };
  } finally {
    tf.dispose([value, norm, ...gradients]);
  }
}
