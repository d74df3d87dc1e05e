/** Tuning jobs: idempotent creation, tenant-scoped reads and pages, and the worker's state changes. */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Job, JobStatus, PrismaClient } from './generated/client.js';
import { appendJobEvent, statusEvent } from './job-events.js';
import { afterCursor, NEWEST_FIRST, pageOf, type Page, type PageQuery } from './newest-first-page.js';
import { jsonInput } from './prisma-inputs.js';
import { isUniqueViolation } from './prisma-errors.js';
import { isUuid } from './uuid.js';

export interface NewJob {
  tenantId: string;
  /** train unless given. */
  kind?: 'train' | 'evaluate';
  /** The prompt an evaluation scores. */
  promptId?: string;
  modelId: string;
  datasetId: string;
  validationDatasetId: string | null;
  spec: object;
  totalSteps: number | null;
  idempotencyKey: string | null;
}

export interface JobPageQuery extends PageQuery {
  status?: JobStatus;
  kind?: 'train' | 'evaluate';
  /** An evaluation's prompt. */
  promptId?: string;
}

export interface JobError {
  code: string;
  message: string;
}

export type FinalJobStatus = Extract<JobStatus, 'succeeded' | 'failed' | 'cancelled'>;

const UNFINISHED: JobStatus[] = ['queued', 'running'];
const CANCELLED_BEFORE_START: JobError = { code: 'CANCELLED', message: 'cancelled before it started' };

/** The event of a job ended `failed` or `cancelled` with `error`. */
export const endEvent = (status: Exclude<FinalJobStatus, 'succeeded'>, error: JobError) =>
  statusEvent(status, error.message, status === 'failed' ? 'error' : 'info', { error });

/** Told the id of a job whose log grew, once the events are committed (the API's streams listen). */
export type JobEventNotifier = (jobId: string) => void;

/**
 * A Job row's timestamps as Prisma reads them (UTC instants), for plain queries on the pool:
 * node-postgres reads a `timestamp` column in the process's own time zone. Listed after `*`, they
 * replace its columns of the same names.
 */
const utcTimestamps = (table: string) =>
  ['createdAt', 'startedAt', 'finishedAt'].map((column) => `${table}."${column}" AT TIME ZONE 'UTC' AS "${column}"`).join(', ');

export function createJobsRepository(prisma: PrismaClient, pool: pg.Pool, notify: JobEventNotifier) {
  return {
    /** With an idempotency key the tenant used before, the job it created then, and `created: false`. */
    /**
     * The job and its first event ("queued") in one statement on the pool: a submit's one write,
     * one round trip (Prisma's nested create is a transaction of four).
     */
    async create({ spec, ...fields }: NewJob): Promise<{ job: Job; created: boolean }> {
      try {
        const queued = statusEvent('queued', 'the job is queued');
        const { rows: [job] } = await pool.query<Job>({
          name: 'create-job',
          text: `WITH job AS (
             INSERT INTO "Job" ("id", "kind", "tenantId", "promptId", "modelId", "datasetId", "validationDatasetId", "spec", "totalSteps", "idempotencyKey", "eventSeq", "createdAt")
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, now() AT TIME ZONE 'UTC') RETURNING *
           ), event AS (
             INSERT INTO "JobEvent" ("jobId", "seq", "level", "type", "message", "data", "createdAt")
             SELECT id, 1, $11, $12, $13, $14, "createdAt" FROM job
           )
           SELECT *, ${utcTimestamps('job')} FROM job`,
          values: [
            randomUUID(), fields.kind ?? 'train', fields.tenantId, fields.promptId ?? null, fields.modelId, fields.datasetId, fields.validationDatasetId,
            JSON.stringify(spec), fields.totalSteps, fields.idempotencyKey, queued.level, queued.type, queued.message, JSON.stringify(queued.data ?? null),
          ],
        });
        notify(job!.id);
        return { job: job!, created: true };
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

    /**
     * The tenant's job and the id of the prompt it trained (null for none yet, or deleted), in one
     * query: what a status read shows, the API's most frequent call. (Prisma's include would be a
     * second query, and its query interpreter costs more than the query itself here: this goes
     * to the pool directly, timestamps read as UTC as Prisma reads them.)
     */
    async findWithTrainedPrompt(tenantId: string, id: string): Promise<{ job: Job; trainedPromptId: string | null } | null> {
      if (!isUuid(id)) return null;
      // Named: each pooled connection parses and plans it once.
      const { rows: [row] } = await pool.query<Job & { trainedPromptId: string | null }>({
        name: 'job-with-trained-prompt',
        text: `SELECT j.*, ${utcTimestamps('j')}, p.id AS "trainedPromptId"
               FROM "Job" j LEFT JOIN "Prompt" p ON p."jobId" = j.id WHERE j.id = $1 AND j."tenantId" = $2`,
        values: [id, tenantId],
      });
      if (!row) return null;
      const { trainedPromptId, ...job } = row;
      return { job, trainedPromptId };
    },

    /** Newest first. Throws InvalidCursorError (400 INVALID_CURSOR) for a cursor that is not the tenant's job. */
    async list(tenantId: string, { status, kind, promptId, cursor, limit }: JobPageQuery): Promise<Page<Job>> {
      const after = await afterCursor(cursor, 'job', (id) => prisma.job.findFirst({ where: { id, tenantId }, select: { id: true, createdAt: true } }));
      return pageOf(await prisma.job.findMany({ where: { tenantId, status, kind, promptId, ...after }, orderBy: [...NEWEST_FIRST], take: limit + 1 }), limit);
    },

    /** Deletes the tenant's job, with its metrics and checkpoint (its prompt stays); false when there was none. */
    async delete(tenantId: string, id: string): Promise<boolean> {
      if (!isUuid(id)) return false;
      return (await prisma.job.deleteMany({ where: { id, tenantId } })).count > 0;
    },

    /**
     * Ends a job that has not ended yet (queued or running) as `failed` or `cancelled`, and raises
     * its lease so that a run still going can write nothing more. False when it had already ended.
     */
    async endUnfinished(id: string, status: Exclude<FinalJobStatus, 'succeeded'>, error: JobError): Promise<boolean> {
      if (!isUuid(id)) return false;
      const ended = await prisma.$transaction(async (tx) => {
        const { count } = await tx.job.updateMany({
          where: { id, status: { in: UNFINISHED } },
          data: { status, finishedAt: new Date(), error: jsonInput(error), lease: { increment: 1 } },
        });
        if (count === 0) return false;
        // An ended job resumes no more: its checkpoint goes with it.
        await tx.checkpoint.deleteMany({ where: { jobId: id } });
        await appendJobEvent(tx, id, endEvent(status, error));
        return true;
      });
      if (ended) notify(id);
      return ended;
    },

    /** How many jobs there are of each kind and status, every tenant's (for the metrics). */
    async countByKindAndStatus(): Promise<Array<{ kind: string; status: string; count: number }>> {
      const groups = await prisma.job.groupBy({ by: ['kind', 'status'], _count: { _all: true } });
      return groups.map((group) => ({ kind: group.kind, status: group.status, count: group._count._all }));
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
      const { job, logged } = await prisma.$transaction(async (tx) => {
        const cancelled = await tx.job.updateMany({
          where: { id, tenantId, status: 'queued' },
          data: { status: 'cancelled', cancelRequested: true, finishedAt: new Date(), error: jsonInput(CANCELLED_BEFORE_START) },
        });
        const flagged = cancelled.count > 0 ? 0 : (await tx.job.updateMany({ where: { id, tenantId, status: 'running', cancelRequested: false }, data: { cancelRequested: true } })).count;
        if (cancelled.count > 0) await appendJobEvent(tx, id, endEvent('cancelled', CANCELLED_BEFORE_START));
        if (flagged > 0) await appendJobEvent(tx, id, { level: 'info', type: 'message', message: 'cancel requested: the worker stops the job' });
        return { job: await tx.job.findFirst({ where: { id, tenantId } }), logged: cancelled.count + flagged > 0 };
      });
      if (logged) notify(id);
      return job;
    },
  };
}
