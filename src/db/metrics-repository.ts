/** Training and validation metrics of a job, one row per step and split (written through the job's lease). */
import type { PrismaClient } from './generated/client.js';
import { isUuid } from './uuid.js';

export type MetricSplit = 'train' | 'validation';

export interface MetricRow {
  step: number;
  split: MetricSplit;
  loss: number;
  accuracy?: number;
  macroF1?: number;
  learningRate?: number;
  tokensPerSecond?: number;
}

export interface MetricQuery {
  split?: MetricSplit;
  /** Only rows with a greater step. */
  afterStep?: number;
  limit: number;
}

export function createMetricsRepository(prisma: PrismaClient) {
  return {
    /** In step order; the BigInt row id stays behind (JSON cannot carry it). */
    async list(jobId: string, { split, afterStep, limit }: MetricQuery) {
      if (!isUuid(jobId)) return [];
      return prisma.metric.findMany({
        where: { jobId, split, step: afterStep === undefined ? undefined : { gt: afterStep } },
        orderBy: [{ step: 'asc' }, { id: 'asc' }],
        take: limit,
        omit: { id: true, jobId: true },
      });
    },
  };
}
