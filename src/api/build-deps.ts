/** Connects what the API needs, from configuration; `close` releases it all. */
import type { Config } from '../config.js';
import { createPrismaClient } from '../db/prisma-client.js';
import { createStore } from '../db/store.js';
import { startInferenceThread } from '../inference/inference-service.js';
import { apiConnection } from '../queue/redis-connections.js';
import { createTrainQueue } from '../queue/train-queue.js';
import { createUploadParsers } from '../uploads/upload-parsers.js';
import type { ApiDeps } from './api-deps.js';
import { createModelRegistry } from './model-registry.js';

export async function connectApiDeps(config: Config): Promise<{ deps: ApiDeps; close(): Promise<void> }> {
  const prisma = createPrismaClient(config.databaseUrl);
  const redis = apiConnection(config.redisUrl);
  const queueConnection = apiConnection(config.redisUrl);
  const trainQueue = createTrainQueue(queueConnection, config.queuePrefix);
  const uploadParsers = createUploadParsers(config);
  const inference = startInferenceThread(config.models, config.backend, { nativeKernels: config.nativeKernels, nativeThreads: config.nativeThreads });
  const deps: ApiDeps = {
    store: createStore(prisma),
    models: await createModelRegistry(config.models),
    trainQueue,
    redis,
    queuePrefix: config.queuePrefix,
    inference,
    uploadParsers,
    pingDatabase: async () => void (await prisma.$queryRaw`SELECT 1`),
  };
  return {
    deps,
    async close() {
      await Promise.all([inference.close(), uploadParsers.close()]);
      await trainQueue.close();
      // quit() needs a live connection; during a Redis outage there is none to close politely.
      const closeRedis = (connection: typeof redis) => connection.quit().catch(() => connection.disconnect());
      await Promise.all([closeRedis(queueConnection), closeRedis(redis), prisma.$disconnect()]);
    },
  };
}
