/**
 * A run's hold on a job, and every write a run makes. Taking a job raises its `lease` number (the
 * fencing token); each later write of the run locks the job row and goes through only while the
 * row still carries that number and the status `running`. So a worker that lost the job — paused
 * past its queue lock while another took over, or outlived a final state set by someone else —
 * writes nothing more, and no row is written after a job's final state. The writes that change
 * what a user watches append to the job's event log in the same transaction: the start or
 * resumption, metrics every METRICS_EVENT_EVERY steps and at each evaluation, checkpoints, the end.
 */
import type { JobStatus, Prisma, PrismaClient } from './generated/client.js';
import { appendJobEvent, statusEvent, type NewJobEvent } from './job-events.js';
import { endEvent, type JobError, type JobEventNotifier } from './jobs-repository.js';
import type { MetricRow } from './metrics-repository.js';
import { bytesInput, jsonInput, nullableJsonInput } from './prisma-inputs.js';
import { insertPrompt, type NewPrompt } from './prompts-repository.js';
import { isUuid } from './uuid.js';

/** The job was taken by a newer run, or reached a final state: this run must stop and write nothing. */
export class LeaseLostError extends Error {
  constructor(
    readonly jobId: string,
    readonly lease: number,
  ) {
    super(`job ${jobId} is no longer held by run ${lease}: another run took it, or it ended`);
    this.name = 'LeaseLostError';
    Object.setPrototypeOf(this, LeaseLostError.prototype);
  }
}

export interface SavedCheckpoint {
  readonly step: number;
  readonly data: Uint8Array;
}

type Tx = Prisma.TransactionClient;

export interface JobLease {
  readonly jobId: string;
  /** The fencing token this run writes under. */
  readonly lease: number;
  /** The checkpoint the run resumes from, read once the lease was taken (so no older run can replace it since). */
  readonly checkpoint: SavedCheckpoint | null;
  /** Progress and the step's training metrics; writing a step twice (a retried write) leaves one row. */
  recordStep(step: number, progress: object, metric: Omit<MetricRow, 'step' | 'split'>): Promise<void>;
  recordEvaluation(step: number, metrics: Omit<MetricRow, 'step' | 'split'>, isBest: boolean): Promise<void>;
  saveCheckpoint(step: number, data: Uint8Array): Promise<void>;
  cancelRequested(): Promise<boolean>;
  /** Stores the prompt and ends the job `succeeded`, in one transaction; the checkpoint goes with it. */
  succeed(prompt: NewPrompt, bestMetrics: object | null): Promise<void>;
  /** Stores an evaluation's report and ends the job `succeeded`, in one transaction. */
  complete(result: object, summary: string): Promise<void>;
  /** Ends the job `failed` or `cancelled` with its reason; the checkpoint goes with it. */
  end(status: Extract<JobStatus, 'failed' | 'cancelled'>, error: JobError): Promise<void>;
}

type MetricValues = Omit<MetricRow, 'step' | 'split'>;

/** A step's training metrics go to the event log every this many steps (every step goes to the metrics table). */
export const METRICS_EVENT_EVERY = 10;
const metricRow = (jobId: string, step: number, split: MetricRow['split'], values: MetricValues) => ({ jobId, step, split, ...values });

const metricsEvent = (message: string, data: object): NewJobEvent => ({ level: 'info', type: 'metrics', message, data });

/** The metrics a checkpoint at `step` is listed with: that step's training loss, and the latest validation at or before it. */
async function metricsAt(tx: Tx, jobId: string, step: number): Promise<object> {
  const [train, validation] = await Promise.all([
    tx.metric.findFirst({ where: { jobId, split: 'train', step }, select: { loss: true } }),
    tx.metric.findFirst({ where: { jobId, split: 'validation', step: { lte: step } }, orderBy: { step: 'desc' }, select: { step: true, loss: true, accuracy: true, macroF1: true } }),
  ]);
  return { ...(train ? { trainLoss: train.loss } : {}), ...(validation ? { validation } : {}) };
}

export function createJobLeasesRepository(prisma: PrismaClient, notify: JobEventNotifier) {
  /**
   * Raises the job's lease and marks it running (keeping its first start time), then reads its
   * checkpoint and drops the metric rows past it, which this run is about to write again.
   * Null when the job is gone or already ended: then it must not run.
   */
  async function acquire(jobId: string, totalSteps: number): Promise<JobLease | null> {
    if (!isUuid(jobId)) return null;
    const taken = await prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<Array<{ lease: number }>>`
        UPDATE "Job" SET "lease" = "lease" + 1, "status" = 'running', "totalSteps" = ${totalSteps},
               "startedAt" = COALESCE("startedAt", now()), "progress" = NULL
        WHERE "id" = ${jobId}::uuid AND "status" IN ('queued', 'running')
        RETURNING "lease"`;
      const lease = rows[0]?.lease;
      if (lease === undefined) return null;
      const checkpoint = await tx.checkpoint.findUnique({ where: { jobId }, select: { step: true, data: true } });
      const resumedAt = checkpoint?.step ?? 0;
      await tx.metric.deleteMany({ where: { jobId, step: { gt: resumedAt } } });
      await tx.job.update({ where: { id: jobId }, data: { step: resumedAt } });
      await appendJobEvent(
        tx, jobId,
        checkpoint
          ? statusEvent('running', `resumed from the checkpoint at step ${resumedAt}: an earlier run stopped before the end`, 'warn', { step: resumedAt })
          : lease > 1
            ? statusEvent('running', 'started again from the beginning: an earlier run stopped before its first checkpoint', 'warn', { step: 0 })
            : statusEvent('running', 'a worker started the job', 'info', { step: 0 }),
      );
      return { lease, checkpoint };
    });
    if (taken) notify(jobId);
    return taken && leaseOf(jobId, taken.lease, taken.checkpoint);
  }

  function leaseOf(jobId: string, lease: number, checkpoint: SavedCheckpoint | null): JobLease {
    /** Runs `write`, then appends `event`, in a transaction that first locks the job row, if this run still holds it. */
    const fenced = async (job: Prisma.JobUpdateManyMutationInput, write: (tx: Tx) => Promise<unknown> = async () => undefined, event?: NewJobEvent) => {
      await prisma.$transaction(async (tx) => {
        const { count } = await tx.job.updateMany({ where: { id: jobId, lease, status: 'running' }, data: { lease, ...job } });
        if (count === 0) throw new LeaseLostError(jobId, lease);
        await write(tx);
        if (event) await appendJobEvent(tx, jobId, event);
      });
      if (event) notify(jobId);
    };

    /**
     * A final write whose commit was not acknowledged (the connection dropped) may be retried;
     * the retry then finds the job ended by this very run, which is success, not a lost lease.
     */
    async function finalWrite(status: JobStatus, job: Prisma.JobUpdateManyMutationInput, event: NewJobEvent, write?: (tx: Tx) => Promise<unknown>) {
      try {
        await fenced({ ...job, status, finishedAt: new Date() }, write, event);
      } catch (err) {
        if (!(err instanceof LeaseLostError)) throw err;
        const now = await prisma.job.findUnique({ where: { id: jobId }, select: { lease: true, status: true } });
        if (now?.lease !== lease || now.status !== status) throw err;
      }
    }

    return {
      jobId,
      lease,
      checkpoint,
      recordStep: (step, progress, metric) =>
        fenced(
          { step, progress: jsonInput(progress) },
          (tx) => tx.metric.createMany({ data: [metricRow(jobId, step, 'train', metric)], skipDuplicates: true }),
          step % METRICS_EVENT_EVERY === 0 ? metricsEvent(`step ${step}: training loss ${metric.loss.toFixed(4)}`, { step, split: 'train', ...metric }) : undefined,
        ),
      recordEvaluation: (step, metrics, isBest) =>
        fenced(
          isBest ? { bestMetrics: jsonInput(metrics) } : {},
          (tx) => tx.metric.createMany({ data: [metricRow(jobId, step, 'validation', metrics)], skipDuplicates: true }),
          metricsEvent(`step ${step}: validation loss ${metrics.loss.toFixed(4)}${isBest ? ', the best so far' : ''}`, { step, split: 'validation', ...metrics, isBest }),
        ),
      saveCheckpoint: (step, data) =>
        fenced(
          {},
          async (tx) => {
            const bytes = bytesInput(data);
            await tx.checkpoint.upsert({ where: { jobId }, create: { jobId, step, data: bytes }, update: { step, data: bytes } });
            const metrics = await metricsAt(tx, jobId, step);
            await tx.checkpointRecord.upsert({ where: { jobId_step: { jobId, step } }, create: { jobId, step, metrics: jsonInput(metrics) }, update: { metrics: jsonInput(metrics), createdAt: new Date() } });
          },
          { level: 'info', type: 'message', message: `checkpoint saved at step ${step}`, data: { step } },
        ),
      async cancelRequested() {
        const job = await prisma.job.findUnique({ where: { id: jobId }, select: { cancelRequested: true } });
        return job?.cancelRequested ?? false;
      },
      succeed: (prompt, bestMetrics) =>
        finalWrite(
          'succeeded',
          { bestMetrics: nullableJsonInput(bestMetrics), error: nullableJsonInput(null) },
          statusEvent('succeeded', 'the job succeeded: its prompt is stored', 'info', bestMetrics ? { metrics: bestMetrics } : {}),
          async (tx) => {
            await insertPrompt(tx, prompt);
            await tx.checkpoint.deleteMany({ where: { jobId } });
          },
        ),
      complete: (result, summary) =>
        finalWrite('succeeded', { result: jsonInput(result), error: nullableJsonInput(null) }, statusEvent('succeeded', summary)),
      end: (status, error) => finalWrite(status, { error: jsonInput(error) }, endEvent(status, error), (tx) => tx.checkpoint.deleteMany({ where: { jobId } })),
    };
  }

  return { acquire };
}
