/** Tuning jobs: idempotent creation, tenant-scoped reads and pages, and the worker's state changes. */
import type { Job, JobStatus, PrismaClient } from './generated/client.js';
import { InvalidCursorError } from './invalid-cursor-error.js';
import { jsonInput } from './prisma-inputs.js';
import { isUniqueViolation } from './prisma-errors.js';
import { isUuid } from './uuid.js';

export interface NewJob {
  tenantId: string;
  modelId: string;
  datasetId: string;
  validationDatasetId: string | null;
  spec: object;
  totalSteps: number | null;
  idempotencyKey: string | null;
}

export interface JobPageQuery {
  status?: JobStatus;
  /** The id of the last job of the previous page. */
  cursor?: string;
  limit: number;
}

export interface JobError {
  code: string;
  message: string;
}

export type FinalJobStatus = Extract<JobStatus, 'succeeded' | 'failed' | 'cancelled'>;

const UNFINISHED: JobStatus[] = ['queued', 'running'];
const CANCELLED_BEFORE_START: JobError = { code: 'CANCELLED', message: 'cancelled before it started' };

export function createJobsRepository(prisma: PrismaClient) {
  /** The cursor's position in the newest-first order; throws InvalidCursorError when it is not the tenant's job. */
  async function cursorPosition(tenantId: string, cursor: string): Promise<{ id: string; createdAt: Date }> {
    const job = isUuid(cursor)
      ? await prisma.job.findFirst({ where: { id: cursor, tenantId }, select: { id: true, createdAt: true } })
      : null;
    if (!job) throw new InvalidCursorError(cursor);
    return job;
  }

  return {
    /** With an idempotency key the tenant used before, the job it created then, and `created: false`. */
    async create({ spec, ...fields }: NewJob): Promise<{ job: Job; created: boolean }> {
      try {
        return { job: await prisma.job.create({ data: { ...fields, spec: jsonInput(spec) } }), created: true };
      } catch (err) {
        // The unique (tenantId, idempotencyKey) settles concurrent requests carrying the same key.
        if (fields.idempotencyKey === null || !isUniqueViolation(err)) throw err;
        const job = await prisma.job.findUnique({
          where: { tenantId_idempotencyKey: { tenantId: fields.tenantId, idempotencyKey: fields.idempotencyKey } },
        });
        if (!job) throw err;
        return { job, created: false };
      }
    },

    async findByIdempotencyKey(tenantId: string, idempotencyKey: string): Promise<Job | null> {
      return prisma.job.findUnique({ where: { tenantId_idempotencyKey: { tenantId, idempotencyKey } } });
    },

    /** A null tenant (the worker) finds any tenant's job. */
    async findById(tenantId: string | null, id: string): Promise<Job | null> {
      if (!isUuid(id)) return null;
      return prisma.job.findFirst({ where: { id, tenantId: tenantId ?? undefined } });
    },

    /** Newest first. Throws InvalidCursorError (400 INVALID_CURSOR) for a cursor that is not the tenant's job. */
    async list(tenantId: string, { status, cursor, limit }: JobPageQuery): Promise<{ items: Job[]; nextCursor: string | null }> {
      // Keyset on (createdAt, id) rather than Prisma's cursor, so a job that changed status since the
      // previous page still marks where the next one starts.
      const after = cursor === undefined ? undefined : await cursorPosition(tenantId, cursor);
      const rows = await prisma.job.findMany({
        where: {
          tenantId,
          status,
          OR: after && [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }],
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit + 1,
      });
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? last.id : null };
    },

    /**
     * Ends a job that has not ended yet (queued or running) as `failed` or `cancelled`, and raises
     * its lease so that a run still going can write nothing more. False when it had already ended.
     */
    async endUnfinished(id: string, status: Exclude<FinalJobStatus, 'succeeded'>, error: JobError): Promise<boolean> {
      if (!isUuid(id)) return false;
      return prisma.$transaction(async (tx) => {
        const { count } = await tx.job.updateMany({
          where: { id, status: { in: UNFINISHED } },
          data: { status, finishedAt: new Date(), error: jsonInput(error), lease: { increment: 1 } },
        });
        // An ended job resumes no more: its checkpoint goes with it.
        if (count > 0) await tx.checkpoint.deleteMany({ where: { jobId: id } });
        return count > 0;
      });
    },

    /** Jobs not yet ended, oldest first: what the reconciler compares with the queue. */
    async listUnfinished(limit: number): Promise<Array<Pick<Job, 'id' | 'status' | 'createdAt'>>> {
      return prisma.job.findMany({
        where: { status: { in: UNFINISHED } },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        take: limit,
        select: { id: true, status: true, createdAt: true },
      });
    },

    /** A queued job is cancelled at once, a running one flagged for its worker, a finished one left as it is. */
    async requestCancel(tenantId: string, id: string): Promise<Job | null> {
      if (!isUuid(id)) return null;
      // Each update matches on the status it changes, so a job the worker starts in between is still flagged.
      const [, , job] = await prisma.$transaction([
        prisma.job.updateMany({
          where: { id, tenantId, status: 'queued' },
          data: { status: 'cancelled', cancelRequested: true, finishedAt: new Date(), error: jsonInput(CANCELLED_BEFORE_START) },
        }),
        prisma.job.updateMany({ where: { id, tenantId, status: 'running' }, data: { cancelRequested: true } }),
        prisma.job.findFirst({ where: { id, tenantId } }),
      ]);
      return job;
    },
  };
}
