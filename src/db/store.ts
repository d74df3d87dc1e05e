/** Every repository over one Prisma client. */
import { createDatasetsRepository } from './datasets-repository.js';
import type { PrismaClient } from './generated/client.js';
import { createJobLeasesRepository } from './job-leases-repository.js';
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
    leases: createJobLeasesRepository(prisma),
    prompts: createPromptsRepository(prisma),
  };
}

export type Store = ReturnType<typeof createStore>;
