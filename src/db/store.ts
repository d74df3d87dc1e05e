/** Every repository over one database (Prisma, and its pool for large bytes). */
import { createDatasetsRepository } from './datasets-repository.js';
import { createJobLeasesRepository } from './job-leases-repository.js';
import { createJobEventsRepository } from './job-events.js';
import { createJobsRepository, type JobEventNotifier } from './jobs-repository.js';
import { createCheckpointRecordsRepository } from './checkpoint-records-repository.js';
import { createMetricsRepository } from './metrics-repository.js';
import type { Database } from './prisma-client.js';
import { createPromptsRepository } from './prompts-repository.js';
import { createTenantsRepository } from './tenants-repository.js';

/**
 * @param options.onJobEvent told a job's id once events of it are committed (the API and workers
 *   publish it over Redis, so that every API replica's event streams wake up)
 */
export function createStore({ prisma, pool }: Pick<Database, 'prisma' | 'pool'>, { onJobEvent = () => undefined }: { onJobEvent?: JobEventNotifier } = {}) {
  return {
    tenants: createTenantsRepository(prisma),
    datasets: createDatasetsRepository(prisma, pool),
    jobs: createJobsRepository(prisma, pool, onJobEvent),
    jobEvents: createJobEventsRepository(prisma),
    checkpoints: createCheckpointRecordsRepository(prisma),
    metrics: createMetricsRepository(prisma),
    leases: createJobLeasesRepository(prisma, onJobEvent),
    prompts: createPromptsRepository(prisma),
  };
}

export type Store = ReturnType<typeof createStore>;
