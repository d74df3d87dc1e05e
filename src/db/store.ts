/** Every repository over one database (Prisma, and its pool for large bytes). */
import { createDatasetsRepository } from './datasets-repository.js';
import { createJobLeasesRepository } from './job-leases-repository.js';
import { createJobsRepository } from './jobs-repository.js';
import { createMetricsRepository } from './metrics-repository.js';
import type { Database } from './prisma-client.js';
import { createPromptsRepository } from './prompts-repository.js';
import { createTenantsRepository } from './tenants-repository.js';

export function createStore({ prisma, pool }: Pick<Database, 'prisma' | 'pool'>) {
  return {
    tenants: createTenantsRepository(prisma),
    datasets: createDatasetsRepository(prisma, pool),
    jobs: createJobsRepository(prisma),
    metrics: createMetricsRepository(prisma),
    leases: createJobLeasesRepository(prisma),
    prompts: createPromptsRepository(prisma),
  };
}

export type Store = ReturnType<typeof createStore>;
