/**
 * Runs one tuning job: reads its spec and data from the store, takes the job's lease (the fencing
 * token every later write carries), trains with the engine on a cached model from the last
 * checkpoint, streams progress and metrics, and stores the learned prompt with the job's final
 * state in one transaction. A run that lost its lease stops and writes nothing more.
 */
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { LeaseLostError, type JobLease } from '../db/job-leases-repository.js';
import type { JobError } from '../db/jobs-repository.js';
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
import { storedRows } from '../datasets/stored-dataset.js';
import type { StoreCall } from './store-retry.js';

/** Why a run is aborted: the worker shuts down (the job goes back to the queue), or it lost its queue lock. */
export const SHUTDOWN = 'shutdown';
export const LOCK_LOST = 'lock-lost';
/** How often (in steps) a running job looks for a cancel request it may have missed. */
const CANCEL_POLL_STEPS = 10;
const FINAL_STATUSES = ['succeeded', 'failed', 'cancelled'];
/** A job for a model this worker does not load waits this long before another worker may take it (so none spins on it). */
const NOT_SERVED_DELAY_MS = 2000;

export interface TrainProcessorDeps {
  readonly store: Store;
  readonly models: ModelCache;
  readonly checkpointEvery: number;
  /** The queue lock's duration: a step (which holds the event loop) longer than it loses the job to another worker. */
  readonly jobLockMs: number;
  readonly log: Logger;
  /** Every store call goes through it, so that a short database outage is waited out. */
  readonly storeCall: StoreCall;
  /** The backend failed a job (BACKEND_FAILED): its memory may never return, so the worker should restart. */
  onBackendFailure(): void;
}

export interface JobRun {
  readonly jobId: string;
  readonly signal: AbortSignal;
  /** Best effort (the queue's view of progress); never waited for. */
  reportProgress(progress: TrainingProgress): void;
  /** Aborts this run with a reason (a cancel found by polling). */
  abort(reason: string): void;
  /** Puts the job back in the queue, after `delayMs`, without using up an attempt; returns the error that tells the queue so. */
  handBack(why: string, delayMs?: number): Promise<Error>;
}

export async function processTrainJob(deps: TrainProcessorDeps, run: JobRun): Promise<void> {
  const { store, log, storeCall } = deps;
  const { jobId } = run;
  const job = await storeCall('read the job', () => store.jobs.findById(null, jobId));
  if (!job) throw new UnrecoverableError(`job ${jobId} does not exist`);
  if (FINAL_STATUSES.includes(job.status)) return;
  if (job.cancelRequested) {
    await storeCall('cancel the job', () => store.jobs.endUnfinished(jobId, 'cancelled', { code: 'CANCELLED', message: 'cancelled before it started' }));
    return;
  }
  if (!deps.models.serves(job.modelId)) {
    log.debug({ jobId, model: job.modelId }, 'this worker does not load the model: handing the job back');
    throw await run.handBack(`this worker does not load model ${job.modelId}; one that does takes the job`, NOT_SERVED_DELAY_MS);
  }
  const spec = job.spec as unknown as JobSpec;
  const readRows = async (datasetId: string | null) => {
    const content = datasetId === null ? null : await storeCall('read the dataset', () => store.datasets.content(null, datasetId));
    if (!content) throw new EngineError('DATASET_INVALID', `the job's dataset${datasetId ? ` ${datasetId}` : ''} was deleted`);
    return storedRows(content);
  };
  let lease: JobLease | null = null;
  /** Ends the job through its lease once the run holds one; before that, only if nobody ended it yet. */
  const endJob = async (status: 'failed' | 'cancelled', error: JobError): Promise<void> => {
    await storeCall(`end the job ${status}`, async () => void (lease ? await lease.end(status, error) : await store.jobs.endUnfinished(jobId, status, error)));
  };
  let created: SoftPrompt | undefined; // disposed however the run ends
  try {
    const rows = await readRows(job.datasetId);
    const split = job.validationDatasetId
      ? { train: rows, validation: await readRows(job.validationDatasetId) }
      : splitTrainValidation(rows, { validationFraction: spec.validationFraction, seed: spec.prompt.seed ?? 0 });
    const { model, tokenizer } = await deps.models.get(job.modelId);
    const { prompt, objective, train, validation } = await prepareTrainingRun({
      model, tokenizer, task: spec.task, prompt: spec.prompt, train: split.train, validation: split.validation,
    });
    created = prompt;
    const options = { ...spec.training, checkpointEvery: deps.checkpointEvery };

    const held = await storeCall('take the job', () => store.leases.acquire(jobId, totalTrainingSteps(train.length, options)));
    if (!held) return; // cancelled or ended while it waited
    lease = held;
    const resumeFrom = held.checkpoint ? decodeCheckpoint({ bytes: held.checkpoint.data, name: `checkpoint of job ${jobId}` }) : undefined;
    log.info({ jobId, lease: held.lease, resumeFrom: resumeFrom?.step ?? 0 }, resumeFrom ? 'resuming from checkpoint' : 'starting');

    // The lock is renewed between steps only: say so once when steps come near its duration.
    let lastStepAt = Date.now();
    let warned = false;
    const warnOfLongSteps = (step: number) => {
      const took = Date.now() - lastStepAt;
      lastStepAt = Date.now();
      if (warned || took < deps.jobLockMs / 2) return;
      warned = true;
      log.warn({ jobId, step, stepMs: took, jobLockMs: deps.jobLockMs }, 'a step took over half the queue lock; raise LOPT_JOB_LOCK_MS above the longest step, or use smaller batches');
    };
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
          run.reportProgress(progress);
          warnOfLongSteps(progress.step);
          const { step, loss, learningRate, tokensPerSecond } = progress;
          await storeCall('record a step', () => held.recordStep(step, progress, { loss, learningRate, tokensPerSecond }));
          if (step % CANCEL_POLL_STEPS === 0 && (await storeCall('look for a cancel', () => held.cancelRequested()))) run.abort('cancelled');
        },
        onEvaluation: ({ step, metrics, isBest }) => storeCall('record an evaluation', () => held.recordEvaluation(step, metrics, isBest)),
        onCheckpoint: (checkpoint) => storeCall('save a checkpoint', () => held.saveCheckpoint(checkpoint.step, encodeCheckpoint(checkpoint))),
      },
    });

    const tensors = await promptTensors(prompt);
    const metrics = result.best?.metrics ?? result.finalMetrics;
    const promptSpec = prompt.spec;
    const learned = {
      tenantId: job.tenantId,
      jobId,
      source: 'trained' as const,
      spec: spec.prompt,
      modelId: job.modelId,
      method: promptSpec.method,
      n: promptSpec.n,
      r: promptSpec.r || null,
      activation: promptSpec.method === 'lopt2' ? promptSpec.activation : null,
      trainableParameters: prompt.trainableParameters,
      task: spec.task,
      metrics: metrics ?? {},
      tensors: Object.fromEntries([...tensors].map(([name, t]) => [name, { shape: [...t.shape], data: t.data }])),
    };
    await storeCall('store the prompt', () => held.succeed(learned, metrics ?? null));
  } catch (err) {
    if (err instanceof LeaseLostError) {
      log.warn({ jobId, lease: err.lease }, 'another run took the job, or it ended: this run stops and writes nothing more');
      throw err;
    }
    // However the run ended once the worker began shutting down (a store call may have stopped waiting), it goes back.
    if (run.signal.aborted && run.signal.reason === SHUTDOWN) throw await run.handBack('the worker shut down; the job resumes from its checkpoint');
    if (err instanceof EngineError && err.code === 'CANCELLED') {
      if (run.signal.reason === LOCK_LOST) throw new Error('the worker lost its lock on the job; another worker resumes it from its checkpoint');
      await endJob('cancelled', { code: 'CANCELLED', message: err.message });
      return;
    }
    if (err instanceof EngineError) {
      if (err.code === 'BACKEND_FAILED') deps.onBackendFailure();
      await endJob('failed', { code: err.code, message: err.message });
      throw new UnrecoverableError(err.message);
    }
    // Anything else costs an attempt; the queue's final failure is written by the worker's reconciler.
    throw err;
  } finally {
    created?.dispose();
  }
}
