/** Uploaded datasets. Their content is read only by the worker, so rows come back without it. */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { PrismaClient } from './generated/client.js';
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

export function createDatasetsRepository(prisma: PrismaClient, pool: pg.Pool) {
  return {
    /**
     * The content goes in as a binary parameter of a plain query, not through Prisma, which would
     * hold on to a base64 copy of it (see prisma-client's Database); the row is then read back as
     * Prisma reads it.
     */
    async create({ tenantId, name, format, columns, rowCount, sizeBytes, sha256, content }: NewDataset) {
      const id = randomUUID();
      await pool.query(
        `INSERT INTO "Dataset" ("id", "tenantId", "name", "format", "columns", "rowCount", "sizeBytes", "sha256", "content")
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [id, tenantId, name, format, columns === null ? null : JSON.stringify(columns), rowCount, sizeBytes, sha256, Buffer.from(content.buffer, content.byteOffset, content.byteLength)],
      );
      return prisma.dataset.findUniqueOrThrow({ where: { id }, omit: { content: true } });
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
