/** Every repository over one Prisma client. */
import { createCheckpointsRepository } from './checkpoints-repository.js';
import { createDatasetsRepository } from './datasets-repository.js';
import type { PrismaClient } from './generated/client.js';
import { createJobsRepository } from './jobs-repository.js';
import { createMetricsRepository } from './metrics-repository.js';
import { createPromptsRepository } from './prompts-repository.js';
import { createTenantsRepository } from './tenants-repository.js';

export function createStore(prisma: PrismaClient) {
  return {
    tenants: createTenantsRepository(prisma),
    datasets: createDatasetsRepository(prisma),
    jobs: createJobsRepository(prisma),
    metrics: createMetricsRepository(prisma),
    checkpoints: createCheckpointsRepository(prisma),
    prompts: createPromptsRepository(prisma),
  };
}

export type Store = ReturnType<typeof createStore>;
