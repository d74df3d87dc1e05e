/** The checkpoints jobs saved, with their metrics; the resumable bytes of the latest are the job's Checkpoint. */
import type { PrismaClient } from './generated/client.js';

/** More than a job of the deployment's largest step count saves at any sensible checkpoint interval. */
const MAX_LISTED = 1000;

export function createCheckpointRecordsRepository(prisma: PrismaClient) {
  return {
    /** A job's checkpoints, by step (the first MAX_LISTED). */
    async list(jobId: string): Promise<Array<{ step: number; metrics: unknown; createdAt: Date }>> {
      return prisma.checkpointRecord.findMany({ where: { jobId }, orderBy: { step: 'asc' }, select: { step: true, metrics: true, createdAt: true }, take: MAX_LISTED });
    },
  };
}
