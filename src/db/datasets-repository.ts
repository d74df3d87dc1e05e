/** Uploaded datasets. Their content is read only by the worker, so rows come back without it. */
import type { PrismaClient } from './generated/client.js';
import { bytesInput, nullableJsonInput } from './prisma-inputs.js';
import { isUuid } from './uuid.js';

export interface NewDataset {
  tenantId: string;
  name: string;
  format: string;
  columns: Record<string, string> | null;
  rowCount: number;
  sizeBytes: number;
  sha256: string;
  content: Uint8Array;
}

export function createDatasetsRepository(prisma: PrismaClient) {
  return {
    create({ columns, content, ...fields }: NewDataset) {
      return prisma.dataset.create({
        data: { ...fields, columns: nullableJsonInput(columns), content: bytesInput(content) },
        omit: { content: true },
      });
    },

    /** A null tenant (the worker) finds any tenant's dataset. */
    async findById(tenantId: string | null, id: string) {
      if (!isUuid(id)) return null;
      return prisma.dataset.findFirst({ where: { id, tenantId: tenantId ?? undefined }, omit: { content: true } });
    },

    /** The bytes as uploaded; a null tenant (the worker) reads any tenant's dataset. */
    async content(tenantId: string | null, id: string): Promise<Uint8Array | null> {
      if (!isUuid(id)) return null;
      const dataset = await prisma.dataset.findFirst({ where: { id, tenantId: tenantId ?? undefined }, select: { content: true } });
      return dataset?.content ?? null;
    },
  };
}
