/**
 * A job's event log: state changes, warnings, errors and metrics, each with the next `seq` of its
 * job. The seq is taken by raising the job row's `eventSeq` in the writing transaction, which
 * locks the row until commit: events of one job are numbered in commit order, so a reader that
 * has seen event k and asks for those after k misses none and sees none twice.
 */
import type { Prisma, PrismaClient } from './generated/client.js';
import { jsonInput } from './prisma-inputs.js';

export type JobEventLevel = 'info' | 'warn' | 'error';
/** OpenAI's fine-tuning event types: a message, or a step's metrics in `data`. */
export type JobEventType = 'message' | 'metrics';

export interface NewJobEvent {
  readonly level: JobEventLevel;
  readonly type: JobEventType;
  readonly message: string;
  /** For a state change, `status` names the state the job entered. */
  readonly data?: object;
}

export interface JobEventRow {
  readonly seq: number;
  readonly createdAt: Date;
  readonly level: JobEventLevel;
  readonly type: JobEventType;
  readonly message: string;
  readonly data: unknown;
}

type Tx = Pick<Prisma.TransactionClient, '$queryRaw' | 'jobEvent'>;

/** A state-change event: the job entered `status`. */
export const statusEvent = (status: string, message: string, level: JobEventLevel = 'info', data: object = {}): NewJobEvent => ({
  level, type: 'message', message, data: { status, ...data },
});

/** Appends `event` to the job's log in `tx`; its seq, or null when the job no longer exists. */
export async function appendJobEvent(tx: Tx, jobId: string, event: NewJobEvent): Promise<number | null> {
  const rows = await tx.$queryRaw<Array<{ eventSeq: number }>>`
    UPDATE "Job" SET "eventSeq" = "eventSeq" + 1 WHERE "id" = ${jobId}::uuid RETURNING "eventSeq"`;
  const seq = rows[0]?.eventSeq;
  if (seq === undefined) return null;
  await tx.jobEvent.create({ data: { jobId, seq, level: event.level, type: event.type, message: event.message, ...(event.data ? { data: jsonInput(event.data) } : {}) } });
  return seq;
}

export function createJobEventsRepository(prisma: PrismaClient) {
  return {
    /** Events after seq `after` (0: from the first), oldest first; `hasMore` when more follow the page. */
    async list(jobId: string, { after, limit }: { after: number; limit: number }): Promise<{ items: JobEventRow[]; hasMore: boolean }> {
      const rows = await prisma.jobEvent.findMany({ where: { jobId, seq: { gt: after } }, orderBy: { seq: 'asc' }, take: limit + 1 });
      return { items: rows.slice(0, limit).map(({ jobId: _job, ...row }) => row as JobEventRow), hasMore: rows.length > limit };
    },
  };
}
