/** The `train` queue: names, payload, and the options every training job is added with. */
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';

export const TRAIN_QUEUE = 'train';

/** Ids only: the job's spec, data and secrets stay in PostgreSQL. */
export interface TrainJobData {
  readonly jobId: string;
}

export const TRAIN_JOB_OPTIONS: JobsOptions = {
  /** A crash or a shutdown costs an attempt; the job resumes from its checkpoint. */
  attempts: 3,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export function createTrainQueue(connection: Redis, prefix: string): Queue<TrainJobData> {
  return new Queue<TrainJobData>(TRAIN_QUEUE, { connection, prefix, defaultJobOptions: TRAIN_JOB_OPTIONS });
}

/** Adds a job under its own id, so adding it twice is a no-op. */
export async function enqueueTraining(queue: Queue<TrainJobData>, jobId: string): Promise<void> {
  await queue.add('train', { jobId }, { jobId });
}
