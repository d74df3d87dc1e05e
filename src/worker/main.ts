/**
 * A training worker process: one job at a time on the `train` queue, its model cache and
 * TensorFlow.js backend its own. Scale out by running more of them (one per core or GPU).
 */
import { Worker } from 'bullmq';
import { loadConfig } from '../config.js';
import { createPrismaClient } from '../db/prisma-client.js';
import { createStore } from '../db/store.js';
import { describeBackend, initBackend, shutdownBackend } from '../engine/backend.js';
import { createLogger } from '../logger.js';
import { subscribeCancel } from '../queue/cancel-channel.js';
import { workerConnection } from '../queue/redis-connections.js';
import { TRAIN_QUEUE, type TrainJobData } from '../queue/train-queue.js';
import { createModelCache } from './model-cache.js';
import { processTrainJob, SHUTDOWN } from './train-processor.js';

const config = loadConfig();
const log = createLogger(config.logLevel).child({ role: 'worker', pid: process.pid });
const backend = await initBackend(config.backend, { nativeKernels: config.nativeKernels, nativeThreads: config.nativeThreads });
log.info({ backend }, `TensorFlow.js backend: ${describeBackend(backend)}`);

const prisma = createPrismaClient(config.databaseUrl);
const store = createStore(prisma);
const models = createModelCache(config.models);
const connection = workerConnection(config.redisUrl);
const subscriber = workerConnection(config.redisUrl);

const worker = new Worker<TrainJobData>(
  TRAIN_QUEUE,
  (job, _token, signal) =>
    processTrainJob(
      { store, models, checkpointEvery: config.checkpointEvery, log },
      {
        jobId: job.data.jobId,
        signal: signal!,
        lastAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
        reportProgress: (progress) => job.updateProgress({ ...progress }),
        abort: (reason) => worker.cancelJob(job.id!, reason),
      },
    ),
  {
    connection,
    prefix: config.queuePrefix,
    concurrency: 1,
    lockDuration: config.jobLockMs,
    stalledInterval: config.jobLockMs,
    maxStalledCount: 3,
  },
);
worker.on('error', (err) => log.error({ err }, 'worker error'));
worker.on('failed', (job, err) => log.warn({ jobId: job?.data.jobId, attempt: job?.attemptsMade, err: err.message }, 'job attempt failed'));
worker.on('completed', (job) => log.info({ jobId: job.data.jobId }, 'job done'));
await subscribeCancel(subscriber, config.queuePrefix, (jobId) => {
  if (worker.cancelJob(jobId, 'cancelled')) log.info({ jobId }, 'cancelling job');
});
log.info({ queue: TRAIN_QUEUE, prefix: config.queuePrefix }, 'worker ready');

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down: checkpointing the running job');
    worker.cancelAllJobs(SHUTDOWN);
    await worker.close();
    await Promise.all([subscriber.quit(), connection.quit(), prisma.$disconnect(), models.dispose()]);
    shutdownBackend();
    process.exit(0);
  });
}
