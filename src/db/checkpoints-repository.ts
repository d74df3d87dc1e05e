/** The latest resumable checkpoint of each job (the engine's checkpoint codec bytes). */
import type { PrismaClient } from './generated/client.js';
import { bytesInput } from './prisma-inputs.js';
import { isUuid } from './uuid.js';

export function createCheckpointsRepository(prisma: PrismaClient) {
  return {
    async save(jobId: string, step: number, data: Uint8Array): Promise<void> {
      const bytes = bytesInput(data);
      await prisma.checkpoint.upsert({
        where: { jobId },
        create: { jobId, step, data: bytes },
        update: { step, data: bytes },
      });
    },

    async find(jobId: string): Promise<{ step: number; data: Uint8Array } | null> {
      if (!isUuid(jobId)) return null;
      return prisma.checkpoint.findUnique({ where: { jobId }, select: { step: true, data: true } });
    },

    /** False when the job had no checkpoint. */
    async remove(jobId: string): Promise<boolean> {
      if (!isUuid(jobId)) return false;
      const { count } = await prisma.checkpoint.deleteMany({ where: { jobId } });
      return count > 0;
    },
  };
}
