/**
 * Runs one tuning job: reads its spec and data from the store, trains with the engine on a cached
 * model, streams progress and metrics, checkpoints, resumes from the last checkpoint on a retry,
 * and writes the learned prompt. The store write of the result comes last and is idempotent.
 */
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import type { Store } from '../db/store.js';
import { splitTrainValidation } from '../engine/datasets/split-train-validation.js';
import { EngineError } from '../engine/engine-error.js';
import { promptTensors } from '../engine/prompt-file.js';
import type { SoftPrompt } from '../engine/prompts/soft-prompt.js';
import { decodeCheckpoint, encodeCheckpoint } from '../engine/training/checkpoint-codec.js';
import { prepareTrainingRun } from '../engine/training/prepare-run.js';
import { totalTrainingSteps, trainPrompt, type TrainingProgress } from '../engine/training/trainer.js';
import type { JobSpec } from './job-spec.js';
import type { ModelCache } from './model-cache.js';
import { storedRows } from './stored-dataset.js';

/** The abort reason a worker gives when it shuts down: the job is retried, not cancelled. */
export const SHUTDOWN = 'shutdown';
/** How often (in steps) a running job looks for a cancel request it may have missed. */
const CANCEL_POLL_STEPS = 10;

export interface TrainProcessorDeps {
  readonly store: Store;
  readonly models: ModelCache;
  readonly checkpointEvery: number;
  readonly log: Logger;
}

export interface JobRun {
  readonly jobId: string;
  readonly signal: AbortSignal;
  /** Whether a failure now is final (no attempts left). */
  readonly lastAttempt: boolean;
  reportProgress(progress: TrainingProgress): Promise<void>;
  /** Aborts this run with a reason (a cancel found by polling). */
  abort(reason: string): void;
}

async function readRows(store: Store, datasetId: string) {
  const content = await store.datasets.content(null, datasetId);
  if (!content) throw new EngineError('DATASET_INVALID', `dataset ${datasetId} no longer exists`);
  return storedRows(content);
}

export async function processTrainJob(deps: TrainProcessorDeps, run: JobRun): Promise<void> {
  const { store, log } = deps;
  const { jobId } = run;
  const job = await store.jobs.findById(null, jobId);
  if (!job) throw new UnrecoverableError(`job ${jobId} does not exist`);
  if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return;
  if (job.cancelRequested) {
    await store.jobs.finish(jobId, 'cancelled', { error: { code: 'CANCELLED', message: 'cancelled before it started' } });
    return;
  }
  const spec = job.spec as unknown as JobSpec;
  let created: SoftPrompt | undefined; // disposed however the run ends
  try {
    const rows = await readRows(store, job.datasetId);
    const split = job.validationDatasetId
      ? { train: rows, validation: await readRows(store, job.validationDatasetId) }
      : splitTrainValidation(rows, { validationFraction: spec.validationFraction, seed: spec.prompt.seed ?? 0 });
    const { model, tokenizer } = await deps.models.get(job.modelId);
    const { prompt, objective, train, validation } = await prepareTrainingRun({
      model, tokenizer, task: spec.task, prompt: spec.prompt, train: split.train, validation: split.validation,
    });
    created = prompt;
    const promptSpec = prompt.spec;
    const options = { ...spec.training, checkpointEvery: deps.checkpointEvery };
    const saved = await store.checkpoints.find(jobId);
    const resumeFrom = saved ? decodeCheckpoint({ bytes: saved.data, name: `checkpoint of job ${jobId}` }) : undefined;
    if (resumeFrom) log.info({ jobId, step: resumeFrom.step }, 'resuming from checkpoint');

    // Null: the job was cancelled or finished while it waited.
    if (!(await store.jobs.markRunning(jobId, totalTrainingSteps(train.length, options)))) return;
    const result = await trainPrompt({
      prompt,
      objective,
      train,
      validation,
      options,
      signal: run.signal,
      ...(resumeFrom ? { resumeFrom } : {}),
      callbacks: {
        async onStepEnd(progress) {
          await Promise.all([
            run.reportProgress(progress),
            store.jobs.updateProgress(jobId, progress.step, progress),
            store.metrics.add(jobId, [
              { step: progress.step, split: 'train', loss: progress.loss, learningRate: progress.learningRate, tokensPerSecond: progress.tokensPerSecond },
            ]),
          ]);
          if (progress.step % CANCEL_POLL_STEPS === 0 && (await store.jobs.isCancelRequested(jobId))) run.abort('cancelled');
        },
        async onEvaluation({ step, metrics, isBest }) {
          await store.metrics.add(jobId, [{ step, split: 'validation', ...metrics }]);
          if (isBest) await store.jobs.setBestMetrics(jobId, metrics);
        },
        onCheckpoint: (checkpoint) => store.checkpoints.save(jobId, checkpoint.step, encodeCheckpoint(checkpoint)),
      },
    });

    const tensors = await promptTensors(prompt);
    const metrics = result.best?.metrics ?? result.finalMetrics;
    await store.prompts.create({
      tenantId: job.tenantId,
      jobId,
      modelId: job.modelId,
      method: promptSpec.method,
      n: promptSpec.n,
      r: promptSpec.r || null,
      activation: promptSpec.method === 'lopt2' ? promptSpec.activation : null,
      trainableParameters: prompt.trainableParameters,
      task: spec.task,
      metrics: metrics ?? {},
      tensors: Object.fromEntries([...tensors].map(([name, t]) => [name, { shape: [...t.shape], data: t.data }])),
    });
    await store.jobs.finish(jobId, 'succeeded', { bestMetrics: metrics ?? null });
    await store.checkpoints.remove(jobId);
  } catch (err) {
    if (err instanceof EngineError && err.code === 'CANCELLED') {
      if (run.signal.reason === SHUTDOWN) throw new Error('the worker shut down; the job resumes from its checkpoint');
      await store.jobs.finish(jobId, 'cancelled', { error: { code: 'CANCELLED', message: err.message } });
      return;
    }
    if (err instanceof EngineError) {
      await store.jobs.finish(jobId, 'failed', { error: { code: err.code, message: err.message } });
      throw new UnrecoverableError(err.message);
    }
    if (run.lastAttempt) await store.jobs.finish(jobId, 'failed', { error: { code: 'INTERNAL', message: (err as Error).message } });
    throw err;
  } finally {
    created?.dispose();
  }
}
