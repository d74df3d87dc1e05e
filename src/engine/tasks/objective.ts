/** What the trainer needs of a task: a differentiable batch loss and an evaluation. */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { EngineError } from '../engine-error.js';
import type { FrozenModel } from '../models/frozen-model.js';
import { tf } from '../tf.js';
import { classificationLoss, flatLabelScores, scoredWords } from './classification.js';
import { classificationReport, type ClassificationReport } from './classification-report.js';
import type { EncodedExample, TaskEncoder } from './task-encoder.js';
import { targetLoss } from './text-to-text.js';

export interface EvaluationMetrics {
  readonly loss: number;
  readonly accuracy?: number;
  /** Reported for three or more classes. */
  readonly macroF1?: number;
}

export interface TrainingObjective {
  /** Mean loss of a batch under prompt X, differentiable with respect to X. */
  loss(prompt: tf.Tensor2D, batch: readonly EncodedExample[]): tf.Scalar;
  /** Token positions a batch runs through the model, prompt rows included. */
  tokens(batch: readonly EncodedExample[], promptRows: number): number;
  /**
   * Metrics over `examples`, in batches. Between batches the event loop runs (timers, I/O: a
   * worker's lock renewals and cancel messages), and an aborted `signal` ends it with EngineError
   * CANCELLED.
   */
  evaluate(prompt: tf.Tensor2D, examples: readonly EncodedExample[], batchSize: number, signal?: AbortSignal): Promise<EvaluationMetrics>;
  /** Throws BATCH_TOO_LARGE if a pass over `batch` after `promptRows` prompt rows would not fit memory (`training`: a step's); allocates nothing. */
  assertFits(batch: readonly EncodedExample[], promptRows: number, training: boolean): void;
  /** Orders evaluations: higher is better (accuracy for classification, −loss otherwise). */
  score(metrics: EvaluationMetrics): number;
}

/**
 * The items in batches of `size`. Before each batch the event loop gets a turn: on wasm, reading a
 * tensor resolves as a microtask, so without this an evaluation holds the loop from start to end.
 */
async function* batches<T>(items: readonly T[], size: number, signal: AbortSignal | undefined): AsyncGenerator<T[]> {
  for (let start = 0; start < items.length; start += size) {
    await yieldToEventLoop();
    if (signal?.aborted) throw new EngineError('CANCELLED', `evaluation cancelled after ${start} of ${items.length} examples`);
    yield items.slice(start, start + size);
  }
}

/** Each example's predicted label index under prompt X, and the summed cross-entropy over the labels' scores. */
async function classifyExamples(
  model: FrozenModel, labelTokens: readonly (readonly number[])[], prompt: tf.Tensor2D, examples: readonly EncodedExample[], batchSize: number, signal: AbortSignal | undefined,
): Promise<{ predicted: number[]; lossSum: number }> {
  const predicted: number[] = [];
  let lossSum = 0;
  for await (const batch of batches(examples, batchSize, signal)) {
    const scores = tf.tidy(() =>
      tf.reshape(flatLabelScores(model, batch.map((e) => ({ prompt, input: e.input, labelTokens }))), [batch.length, labelTokens.length]),
    );
    const [choice, loss] = tf.tidy(() => [
      tf.argMax(scores, 1),
      tf.sum(tf.losses.softmaxCrossEntropy(tf.oneHot(batch.map((e) => e.label!), labelTokens.length), scores, undefined, undefined, tf.Reduction.NONE)),
    ]);
    predicted.push(...(await choice!.data()));
    lossSum += (await loss!.data())[0]!;
    tf.dispose([scores, choice!, loss!]);
  }
  return { predicted, lossSum };
}

/** The full report of a classification prompt on labelled examples (see evaluate for the batches and `signal`). */
export async function reportClassification(
  encoder: TaskEncoder, model: FrozenModel, prompt: tf.Tensor2D, examples: readonly EncodedExample[], batchSize: number, signal?: AbortSignal,
): Promise<ClassificationReport> {
  if (encoder.spec.kind !== 'classification') throw new EngineError('BAD_ARGUMENT', 'only a classification prompt has a classification report');
  const { predicted, lossSum } = await classifyExamples(model, encoder.labelTokens, prompt, examples, batchSize, signal);
  return classificationReport(predicted, examples.map((e) => e.label!), encoder.labels, examples.length ? lossSum / examples.length : 0);
}

function classificationObjective(encoder: TaskEncoder, model: FrozenModel): TrainingObjective {
  const { labelTokens } = encoder;
  const scored = scoredWords(model, labelTokens);
  const extraTokens = scored.every((w) => w.length === 1) ? 0 : scored.reduce((sum, w) => sum + w.length - 1, 0);
  return {
    loss: (prompt, batch) => classificationLoss(model, prompt, batch.map((e) => e.input), batch.map((e) => e.label!), labelTokens),
    tokens: (batch, n) => batch.reduce((sum, e) => sum + n + e.input.length + extraTokens, 0),
    assertFits: (batch, n, training) => model.assertPassFits(batch.map((e) => ({ input: e.input.length, continuation: extraTokens })), n, training),
    async evaluate(prompt, examples, batchSize, signal) {
      const { predicted, lossSum } = await classifyExamples(model, labelTokens, prompt, examples, batchSize, signal);
      const { accuracy, macroF1 } = classificationReport(predicted, examples.map((e) => e.label!), encoder.labels, 0);
      return { loss: lossSum / examples.length, accuracy, ...(labelTokens.length >= 3 ? { macroF1 } : {}) };
    },
    score: (metrics) => metrics.accuracy!,
  };
}

function textToTextObjective(model: FrozenModel): TrainingObjective {
  const pairs = (batch: readonly EncodedExample[]) => batch.map((e) => ({ input: e.input, target: e.target! }));
  return {
    loss: (prompt, batch) => targetLoss(model, prompt, pairs(batch)),
    tokens: (batch, n) => batch.reduce((sum, e) => sum + n + e.input.length + e.target!.length - 1, 0),
    assertFits: (batch, n, training) => model.assertPassFits(batch.map((e) => ({ input: e.input.length, continuation: e.target!.length - 1 })), n, training),
    async evaluate(prompt, examples, batchSize, signal) {
      let weighted = 0;
      let tokens = 0;
      for await (const batch of batches(examples, batchSize, signal)) {
        const loss = targetLoss(model, prompt, pairs(batch));
        const count = batch.reduce((sum, e) => sum + e.target!.length, 0);
        weighted += (await loss.data())[0]! * count;
        tokens += count;
        loss.dispose();
      }
      return { loss: weighted / tokens };
    },
    score: (metrics) => -metrics.loss,
  };
}

export function objectiveFor(encoder: TaskEncoder, model: FrozenModel): TrainingObjective {
  return encoder.spec.kind === 'classification' ? classificationObjective(encoder, model) : textToTextObjective(model);
}
