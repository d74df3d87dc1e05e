import type { FastifyBaseLogger } from 'fastify';
import { enqueueTraining } from '../queue/train-queue.js';
import type { ApiDeps } from './api-deps.js';
import { ApiError } from './api-error.js';

/**
 * Queues a stored job (of any kind). If Redis cannot take it, a job with an idempotency key stays
 * queued for the client's retry to queue; one without is failed, as nobody could ever start it.
 */
export async function enqueueJob({ trainQueue, store }: Pick<ApiDeps, 'trainQueue' | 'store'>, log: FastifyBaseLogger, jobId: string, retryable: boolean): Promise<void> {
  try {
    await enqueueTraining(trainQueue, jobId);
  } catch (err) {
    log.error({ err, jobId }, 'could not enqueue');
    if (!retryable) await store.jobs.endUnfinished(jobId, 'failed', { code: 'QUEUE_UNAVAILABLE', message: 'the job queue could not be reached' });
    throw new ApiError(503, 'QUEUE_UNAVAILABLE', `the job queue cannot be reached; ${retryable ? 'retry with the same Idempotency-Key' : 'try again'}`);
  }
}
