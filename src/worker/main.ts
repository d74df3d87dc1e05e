/**
 * A training worker process: one job at a time on the `train` queue, its model cache and
 * TensorFlow.js backend its own. Scale out by running more of them (one per core or GPU).
 *
 * What it promises (README, "What survives what"): a job it loses — its lock lapsed while it was
 * frozen or cut off from Redis — is stopped here and written by nobody but its new run (the
 * lease); a shutdown checkpoints the job and hands it back without using up an attempt; a
 * PostgreSQL outage shorter than LOPT_STORE_GRACE_MS is waited out; a job the queue gives up on
 * ends `failed` with the queue's reason.
 */
import { DelayedError, Worker } from 'bullmq';
import { backendOptionsOf, loadConfig } from '../config.js';
import { connectDatabase } from '../db/prisma-client.js';
import { createStore } from '../db/store.js';
import { backendBroken } from '../engine/backend-guard.js';
import { describeBackend, initBackend, shutdownBackend } from '../engine/backend.js';
import { createLogger } from '../logger.js';
import { subscribeCancel } from '../queue/cancel-channel.js';
import { jobEventPublisher } from '../queue/job-event-channel.js';
import { serveMetrics } from '../metrics/metrics-server.js';
import { createWorkerMetrics } from '../metrics/worker-metrics.js';
import { workerConnection } from '../queue/redis-connections.js';
import { createTrainQueue, TRAIN_QUEUE, type TrainJobData } from '../queue/train-queue.js';
import { createJobReconciler } from './job-reconciler.js';
import { createModelCache } from './model-cache.js';
import { storeRetry } from './store-retry.js';
import { LOCK_LOST, processJob, SHUTDOWN } from './job-processor.js';

const config = loadConfig();
const log = createLogger(config.logLevel).child({ role: 'worker', pid: process.pid });
const backend = await initBackend(config.backend, backendOptionsOf(config));
log.info({ backend }, `TensorFlow.js backend: ${describeBackend(backend)}`);

const database = connectDatabase(config.databaseUrl, { idleInTransactionMs: config.jobLockMs });
const connection = workerConnection(config.redisUrl);
const store = createStore(database, { onJobEvent: jobEventPublisher(connection, config.queuePrefix, (err) => log.warn({ err: err.message }, 'could not publish a job event notice')) });
const metrics = createWorkerMetrics();
const models = createModelCache(config.workerModels, (id, seconds) => metrics.observeModelLoad(id, seconds));
if (config.workerMetricsPort !== undefined) {
  await serveMetrics(metrics, config.host, config.workerMetricsPort, (err) => log.warn({ err }, 'metrics could not be collected'));
  log.info({ port: config.workerMetricsPort }, 'metrics on GET /metrics');
}
const subscriber = workerConnection(config.redisUrl);
const queue = createTrainQueue(connection, config.queuePrefix);
const reconciler = createJobReconciler({ store, queue, log, maxStalls: config.maxStalls });

let closing = false;
const storeCall = storeRetry(config.storeGraceMs, log, () => closing);
/** Why this process should be replaced once its job has ended (its backend failed), if it should. */
let restartReason: string | null = null;

// Load the served models before taking a job, so that no job's lock waits on a model load.
for (const id of config.workerModels.keys()) {
  await models.get(id).then(
    () => log.info({ model: id }, 'model loaded'),
    (err: unknown) => log.error({ model: id, err }, 'model failed to load; its jobs will fail with the reason'),
  );
}

const worker = new Worker<TrainJobData>(
  TRAIN_QUEUE,
  (job, token, signal) =>
    processJob(
      {
        store, models, metrics, checkpointEvery: config.checkpointEvery, jobLockMs: config.jobLockMs, log, storeCall,
        onBackendFailure: () => (restartReason = backendBroken() ?? 'a job ran the backend out of memory, which it keeps'),
      },
      {
        jobId: job.data.jobId,
        signal: signal!,
        reportProgress: (progress) => void job.updateProgress({ ...progress }).catch(() => undefined),
        abort: (reason) => worker.cancelJob(job.id!, reason),
        async handBack(why, delayMs = 0) {
          // Back in the queue after `delayMs` (at once by default); skipping the attempt is what moveToDelayed does.
          await job.moveToDelayed(Date.now() + delayMs, token);
          return new DelayedError(why);
        },
      },
    ),
  {
    connection,
    prefix: config.queuePrefix,
    concurrency: 1,
    lockDuration: config.jobLockMs,
    stalledInterval: config.jobLockMs,
    maxStalledCount: config.maxStalls,
  },
);
worker.on('error', (err) => log.error({ err }, 'worker error'));
worker.on('failed', (job, err) => {
  log.warn({ jobId: job?.data.jobId, attempt: job?.attemptsMade, err: err.message }, 'job attempt failed');
  // finishedOn is set only when the queue will not try the job again.
  if (job?.finishedOn) {
    storeCall('record the final failure', () => reconciler.onFinalFailure(job.data.jobId, job.failedReason, err)).catch((failure: unknown) =>
      log.error({ jobId: job.data.jobId, err: failure }, 'could not record the final failure; the reconciler will'),
    );
  }
  // A backend that aborted cannot be trusted again, and the wasm heap never shrinks: leave, so that
  // a fresh process (started by `npm start`'s supervisor, or the container's restart policy) takes the next job.
  if (restartReason) {
    log.error({ reason: restartReason }, 'the backend failed: the worker restarts');
    void shutDown('backend failed', 1);
  }
});

// The lock is gone (another worker may hold the job already): stop training it at the next step.
worker.on('lockRenewalFailed', (jobIds) => {
  for (const jobId of jobIds) if (worker.cancelJob(jobId, LOCK_LOST)) log.warn({ jobId }, 'lost the lock on the job: stopping it');
});
await subscribeCancel(subscriber, config.queuePrefix, (jobId) => {
  if (worker.cancelJob(jobId, 'cancelled')) log.info({ jobId }, 'cancelling job');
});

let sweeping = false;
const reconcileTimer = setInterval(() => {
  if (sweeping) return;
  sweeping = true;
  reconciler
    .sweep()
    .catch((err: unknown) => log.warn({ err }, 'could not reconcile jobs with the queue; trying again later'))
    .finally(() => (sweeping = false));
}, config.reconcileEveryMs);
log.info({ queue: TRAIN_QUEUE, prefix: config.queuePrefix }, 'worker ready');

/** Checkpoints the running job and hands it back (no attempt used), then exits. */
async function shutDown(why: string, exitCode: number): Promise<void> {
  if (closing) return;
  closing = true;
  log.info({ why }, 'shutting down: checkpointing the running job');
  clearInterval(reconcileTimer);
  worker.cancelAllJobs(SHUTDOWN);
  await worker.close();
  await queue.close();
  await Promise.all([subscriber.quit(), connection.quit(), database.close(), models.dispose()]);
  shutdownBackend();
  process.exit(exitCode);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void shutDown(signal, 0));
