/**
 * Runs one job of the queue, whatever its kind: reads it from the store, leaves it alone once it
 * ended, ends it cancelled if that was asked before it started, hands it to another worker if this
 * one does not load its model, and then runs its kind's body (training: train-processor.ts;
 * evaluation: evaluate-processor.ts). However the body ends, the job ends in one final state: a
 * run that lost its lease writes nothing more, a shutdown hands the job back, a cancel or an engine
 * error ends it with the reason, anything else costs an attempt.
 */
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import type { Job } from '../db/generated/client.js';
import { LeaseLostError, type JobLease } from '../db/job-leases-repository.js';
import type { JobError } from '../db/jobs-repository.js';
import type { Store } from '../db/store.js';
import type { DatasetRow } from '../engine/datasets/dataset-row.js';
import { EngineError } from '../engine/engine-error.js';
import type { TrainingProgress } from '../engine/training/trainer.js';
import { storedRows } from '../datasets/stored-dataset.js';
import { runEvaluation } from './evaluate-processor.js';
import type { WorkerMetrics } from '../metrics/worker-metrics.js';
import type { ModelCache } from './model-cache.js';
import type { StoreCall } from './store-retry.js';
import { runTraining } from './train-processor.js';

/** Why a run is aborted: the worker shuts down (the job goes back to the queue), or it lost its queue lock. */
export const SHUTDOWN = 'shutdown';
export const LOCK_LOST = 'lock-lost';
const FINAL_STATUSES = ['succeeded', 'failed', 'cancelled'];
/** A job for a model this worker does not load waits this long before another worker may take it (so none spins on it). */
const NOT_SERVED_DELAY_MS = 2000;

export interface JobProcessorDeps {
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
  readonly metrics: WorkerMetrics;
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

/** What a kind's body gets: the job, its rows, and the one way to take its lease. */
export interface JobContext {
  readonly deps: JobProcessorDeps;
  readonly run: JobRun;
  readonly job: Job;
  /** A dataset's stored rows; DATASET_INVALID if it was deleted. */
  readRows(datasetId: string | null): Promise<DatasetRow[]>;
  /** Takes the job's lease (`totalSteps` of work); null when it was cancelled or ended meanwhile, and the body must then stop. */
  takeLease(totalSteps: number): Promise<JobLease | null>;
}

export async function processJob(deps: JobProcessorDeps, run: JobRun): Promise<void> {
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
  const context: JobContext = {
    deps, run, job, readRows,
    takeLease: async (totalSteps) => (lease = await storeCall('take the job', () => store.leases.acquire(jobId, totalSteps))),
  };
  /** How this run ended, for the metrics: the body ran to its end, or how it stopped. */
  let outcome = 'completed';
  try {
    await (job.kind === 'evaluate' ? runEvaluation : runTraining)(context);
  } catch (err) {
    outcome = 'error';
    if (err instanceof LeaseLostError) {
      outcome = 'lease-lost';
      log.warn({ jobId, lease: err.lease }, 'another run took the job, or it ended: this run stops and writes nothing more');
      throw err;
    }
    // However the run ended once the worker began shutting down (a store call may have stopped waiting), it goes back.
    if (run.signal.aborted && run.signal.reason === SHUTDOWN) {
      outcome = 'handed-back';
      throw await run.handBack('the worker shut down; the job resumes from its checkpoint');
    }
    if (err instanceof EngineError && err.code === 'CANCELLED') {
      if (run.signal.reason === LOCK_LOST) {
        outcome = 'lock-lost';
        throw new Error('the worker lost its lock on the job; another worker resumes it from its checkpoint');
      }
      await endJob('cancelled', { code: 'CANCELLED', message: err.message });
      outcome = 'cancelled';
      return;
    }
    if (err instanceof EngineError) {
      if (err.code === 'BACKEND_FAILED') deps.onBackendFailure();
      await endJob('failed', { code: err.code, message: err.message });
      outcome = 'failed';
      throw new UnrecoverableError(err.message);
    }
    // Anything else costs an attempt; the queue's final failure is written by the worker's reconciler.
    throw err;
  } finally {
    deps.metrics.endRun(jobId, job.modelId, job.kind, outcome);
    if (outcome !== 'completed') log.info({ jobId, kind: job.kind, outcome }, `job run ended: ${outcome}`);
  }
}
