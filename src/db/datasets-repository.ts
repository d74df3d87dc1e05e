/** Uploaded datasets. Their content is read only by the worker, so rows come back without it. */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { PrismaClient } from './generated/client.js';
import { afterCursor, NEWEST_FIRST, pageOf, type PageQuery } from './newest-first-page.js';
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
  /** What submit checks need of the rows (engine's DatasetSummary). */
  summary: object;
}

/** What deleting a dataset came to: done, nothing to delete, or refused while jobs that have not ended use it. */
export type DatasetDeletion = { outcome: 'deleted' | 'absent' } | { outcome: 'in-use'; jobIds: string[] };

export function createDatasetsRepository(prisma: PrismaClient, pool: pg.Pool) {
  return {
    /**
     * The content goes in as a binary parameter of a plain query, not through Prisma, which would
     * hold on to a base64 copy of it (see prisma-client's Database); the row is then read back as
     * Prisma reads it.
     */
    async create({ tenantId, name, format, columns, rowCount, sizeBytes, sha256, content, summary }: NewDataset) {
      const id = randomUUID();
      await pool.query(
        `INSERT INTO "Dataset" ("id", "tenantId", "name", "format", "columns", "rowCount", "sizeBytes", "sha256", "content", "summary")
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [id, tenantId, name, format, columns === null ? null : JSON.stringify(columns), rowCount, sizeBytes, sha256, Buffer.from(content.buffer, content.byteOffset, content.byteLength), JSON.stringify(summary)],
      );
      return prisma.dataset.findUniqueOrThrow({ where: { id }, omit: { content: true, summary: true } });
    },

    /** A null tenant (the worker) finds any tenant's dataset; with its summary, without its content. */
    async findById(tenantId: string | null, id: string) {
      if (!isUuid(id)) return null;
      return prisma.dataset.findFirst({ where: { id, tenantId: tenantId ?? undefined }, omit: { content: true } });
    },

    /** Newest first, without content. Throws InvalidCursorError for a cursor that is not the tenant's dataset. */
    async list(tenantId: string, { cursor, limit }: PageQuery) {
      const after = await afterCursor(cursor, 'dataset', (id) => prisma.dataset.findFirst({ where: { id, tenantId }, select: { id: true, createdAt: true } }));
      const rows = await prisma.dataset.findMany({ where: { tenantId, ...after }, orderBy: [...NEWEST_FIRST], take: limit + 1, omit: { content: true, summary: true } });
      return pageOf(rows, limit);
    },

    /**
     * Deletes the tenant's dataset unless a queued or running job trains or validates on it.
     * The row is locked first: a job being submitted against it (its foreign key takes a share
     * lock on the row) waits, and then finds the dataset gone, so no job can start on a deleted
     * dataset. Jobs that ended keep their record, their dataset id set to null.
     */
    async delete(tenantId: string, id: string): Promise<DatasetDeletion> {
      if (!isUuid(id)) return { outcome: 'absent' };
      return prisma.$transaction(async (tx) => {
        const locked = await tx.$queryRaw<Array<{ id: string }>>`SELECT "id" FROM "Dataset" WHERE "id" = ${id}::uuid AND "tenantId" = ${tenantId}::uuid FOR UPDATE`;
        if (locked.length === 0) return { outcome: 'absent' };
        const users = await tx.job.findMany({
          where: { status: { in: ['queued', 'running'] }, OR: [{ datasetId: id }, { validationDatasetId: id }] },
          select: { id: true },
          orderBy: { createdAt: 'asc' },
          take: 10,
        });
        if (users.length > 0) return { outcome: 'in-use', jobIds: users.map((job) => job.id) };
        await tx.dataset.delete({ where: { id } });
        return { outcome: 'deleted' };
      });
    },

    /** The bytes as uploaded; a null tenant (the worker) reads any tenant's dataset. */
    async content(tenantId: string | null, id: string): Promise<Uint8Array | null> {
      if (!isUuid(id)) return null;
      const dataset = await prisma.dataset.findFirst({ where: { id, tenantId: tenantId ?? undefined }, select: { content: true } });
      return dataset?.content ?? null;
    },
  };
}
