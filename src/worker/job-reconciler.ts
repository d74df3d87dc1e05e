/**
 * PostgreSQL holds the one state of a job that users see; the queue only hands jobs to workers.
 * The reconciler keeps the two in step where the queue decides alone: a job whose attempts ran
 * out, or that stalled past the limit, ends `failed` with the queue's reason; an unfinished job
 * the queue has lost (Redis restarted empty, an add that never arrived) is queued again and
 * resumes from its checkpoint. Both run in every worker and are safe to repeat.
 */
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { JobError } from '../db/jobs-repository.js';
import type { Store } from '../db/store.js';
import { isStoreUnavailable } from '../db/store-unavailable.js';
import { enqueueTraining, type TrainJobData } from '../queue/train-queue.js';

/** BullMQ's reason for a job whose worker stopped renewing its lock too many times. */
const STALLED_REASON = 'job stalled more than allowable limit';
/** How many unfinished jobs one sweep looks at. */
const SWEEP_BATCH = 500;

export interface ReconcilerDeps {
  readonly store: Store;
  readonly queue: Queue<TrainJobData>;
  readonly log: Logger;
  /** How many times a job may stall (its worker crashed or froze) before the queue fails it. */
  readonly maxStalls: number;
}

/** The job's error for the queue's final failure reason. */
export function queueFailure(reason: string | undefined, err: unknown, maxStalls: number): JobError {
  if (reason === STALLED_REASON) {
    return {
      code: 'WORKER_LOST',
      message: `the job's worker stopped (crashed, was killed, or froze past its lock) more than ${maxStalls} times; it is not retried again`,
    };
  }
  if (isStoreUnavailable(err)) return { code: 'STORE_UNAVAILABLE', message: `the database stayed unavailable through every attempt: ${reason}` };
  return { code: 'INTERNAL', message: `the job failed on every attempt; the last: ${reason ?? 'no reason given'}` };
}

export function createJobReconciler({ store, queue, log, maxStalls }: ReconcilerDeps) {
  /** The queue failed a job for good (not a retry): it ends `failed`, unless it had ended already. */
  async function onFinalFailure(jobId: string, reason: string | undefined, err?: unknown): Promise<void> {
    const error = queueFailure(reason, err, maxStalls);
    if (await store.jobs.endUnfinished(jobId, 'failed', error)) log.warn({ jobId, error }, 'the queue gave up on the job: it failed');
  }

  /** Compares every unfinished job with the queue once. */
  async function sweep(): Promise<{ failed: number; requeued: number }> {
    let failed = 0;
    let requeued = 0;
    for (const job of await store.jobs.listUnfinished(SWEEP_BATCH)) {
      const state = await queue.getJobState(job.id);
      if (state === 'failed') {
        const queued = await queue.getJob(job.id);
        if (await store.jobs.endUnfinished(job.id, 'failed', queueFailure(queued?.failedReason, undefined, maxStalls))) failed += 1;
      } else if (state === 'completed') {
        // The processor returns only after the job's final write: a completed, unfinished job lost that write.
        if (await store.jobs.endUnfinished(job.id, 'failed', { code: 'INTERNAL', message: 'the queue finished the job without its result' })) failed += 1;
      } else if (state === 'unknown') {
        await enqueueTraining(queue, job.id);
        requeued += 1;
      }
    }
    if (failed || requeued) log.warn({ failed, requeued }, 'reconciled jobs with the queue');
    return { failed, requeued };
  }

  return { onFinalFailure, sweep };
}

export type JobReconciler = ReturnType<typeof createJobReconciler>;
