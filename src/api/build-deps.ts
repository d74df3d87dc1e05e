/** Connects what the API needs, from configuration; `close` releases it all. */
import type { Logger } from 'pino';
import { backendOptionsOf, type Config } from '../config.js';
import { connectDatabase } from '../db/prisma-client.js';
import { createStore } from '../db/store.js';
import { startInferenceThread } from '../inference/inference-service.js';
import { createApiMetrics } from '../metrics/api-metrics.js';
import { listenForInvalidations, publishInvalidation, type Invalidation } from '../queue/invalidation-channel.js';
import { jobEventPublisher, listenForJobEvents } from '../queue/job-event-channel.js';
import { apiConnection, workerConnection } from '../queue/redis-connections.js';
import { createTrainQueue } from '../queue/train-queue.js';
import { createUploadParsers } from '../uploads/upload-parsers.js';
import type { ApiDeps } from './api-deps.js';
import { createKeyCache } from './key-cache.js';
import { createModelRegistry } from './model-registry.js';
import { createPromptCache } from './prompt-cache.js';

export async function connectApiDeps(config: Config, log: Logger): Promise<{ deps: ApiDeps; close(): Promise<void> }> {
  const database = connectDatabase(config.databaseUrl);
  // During a Redis outage the connections report every reconnection attempt; requests meanwhile answer 503.
  const onRedisError = (err: Error) => log.warn({ err: err.message }, 'Redis connection error; reconnecting');
  const redis = apiConnection(config.redisUrl).on('error', onRedisError);
  const queueConnection = apiConnection(config.redisUrl).on('error', onRedisError);
  const eventsConnection = workerConnection(config.redisUrl).on('error', onRedisError);
  const jobEvents = listenForJobEvents(eventsConnection, config.queuePrefix, onRedisError);
  const trainQueue = createTrainQueue(queueConnection, config.queuePrefix);
  trainQueue.on('error', onRedisError);
  const uploadParsers = createUploadParsers(config);
  const inference = startInferenceThread({
    models: config.inferenceModels, backend: config.backend, backendOptions: backendOptionsOf(config), tuning: config.inference,
    onBatch: (inputs) => metrics.observeBatch(inputs),
  });
  const store = createStore(database, { onJobEvent: jobEventPublisher(redis, config.queuePrefix, onRedisError) });
  const keys = createKeyCache((secret) => store.tenants.findByApiKey(secret), config.keyCacheTtlMs);
  const prompts = createPromptCache((tenantId, id) => store.prompts.findById(tenantId, id), config.promptCacheBytes);
  const forget = ({ kind, id }: Invalidation) => {
    if (kind === 'api-key') return keys.forget(id);
    prompts.forget(id);
    inference.forget(id);
  };
  listenForInvalidations(eventsConnection, config.queuePrefix, forget, onRedisError);
  const metrics = createApiMetrics({
    queueCounts: (states) => trainQueue.getJobCounts(...(states as Parameters<typeof trainQueue.getJobCounts>)),
    jobCounts: () => store.jobs.countByKindAndStatus(),
  });
  const deps: ApiDeps = {
    store,
    keys,
    prompts,
    // This replica forgets at once; the others when the message reaches them (Redis down: keys after their TTL).
    async invalidate(invalidation) {
      forget(invalidation);
      await publishInvalidation(redis, config.queuePrefix, invalidation).catch((err: Error) => onRedisError(err));
    },
    jobEvents,
    maxEventStreams: config.maxEventStreams,
    models: await createModelRegistry(config.models),
    trainQueue,
    redis,
    queuePrefix: config.queuePrefix,
    // Predict and generate calls are timed into the metrics.
    inference: {
      ...inference,
      classify: (call) => metrics.observeInference('classify', call.inputs.length, () => inference.classify(call)),
      generate: (call, onText) => metrics.observeInference('generate', call.inputs.length, () => inference.generate(call, onText)),
    },
    metrics,
    metricsOnApiPort: config.metricsOnApiPort,
    queueBoard: config.adminKey ? { path: config.queueBoardPath, adminKey: config.adminKey } : null,
    uploadParsers,
    jobLimits: config.jobLimits,
    pingDatabase: async () => void (await database.prisma.$queryRaw`SELECT 1`),
  };
  return {
    deps,
    async close() {
      await Promise.all([inference.close(), uploadParsers.close()]);
      await trainQueue.close();
      // quit() needs a live connection; during a Redis outage there is none to close politely.
      const closeRedis = (connection: typeof redis) => connection.quit().catch(() => connection.disconnect());
      await jobEvents.close();
      await Promise.all([closeRedis(queueConnection), closeRedis(redis), database.close()]);
    },
  };
}
