import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Job } from '../../db/generated/client.js';
import { isForeignKeyViolation } from '../../db/prisma-errors.js';
import { publishCancel } from '../../queue/cancel-channel.js';
import { isQueueUnavailable } from '../../queue/queue-unavailable.js';
import type { JobSpec } from '../../queue/job-spec.js';
import { canonicalRows, storedRows } from '../../datasets/stored-dataset.js';
import { summarizeRows, type DatasetSummary } from '../../engine/datasets/dataset-summary.js';
import type { ApiDeps } from '../api-deps.js';
import { ApiError, notFound } from '../api-error.js';
import { enqueueJob } from '../enqueue-job.js';
import { fitJobToLimits } from '../job-limits.js';
import { checkDatasetFitsTask, jobSpecOf, trainableParametersOf } from '../job-request.js';
import { errors, IdParamsSchema } from '../schemas/common.js';
import { JobListQuerySchema, JobListSchema, JobRequestSchema, JobSchema, MetricsQuerySchema, MetricsSchema, type JobRequest } from '../schemas/jobs.js';

type JobListQuery = { status?: Job['status']; cursor?: string; limit?: number };
/** A job's dataset with what its checks read. */
type CheckedDataset = { readonly id: string; readonly name: string; readonly summary: DatasetSummary };
type MetricsQuery = { split?: 'train' | 'validation'; afterStep?: number; limit?: number };

/** A job's progress as shown: an ended job has no ETA left. */
function progressOf(job: Job): object {
  const { etaSeconds, ...progress } = (job.progress ?? {}) as { etaSeconds?: number };
  const ended = job.status !== 'queued' && job.status !== 'running';
  return { ...progress, ...(ended || etaSeconds === undefined ? {} : { etaSeconds }), step: job.step, totalSteps: job.totalSteps };
}

export async function jobRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }): Promise<void> {
  const { store, models } = deps;

  const trainableParameters = (job: Job) => {
    const model = models.find(job.modelId);
    return model ? trainableParametersOf(job.spec as unknown as JobSpec, model) : null;
  };

  /** `trainedPromptId`: the prompt a train job made, when the caller read it with the job. */
  const toJob = async (job: Job, trainedPromptId?: string | null) => ({
    id: job.id,
    kind: job.kind,
    status: job.status,
    model: job.modelId,
    datasetId: job.datasetId,
    validationDatasetId: job.validationDatasetId,
    spec: job.spec,
    trainableParameters: job.kind === 'train' ? trainableParameters(job) : null,
    progress: job.progress || job.step ? progressOf(job) : null,
    bestMetrics: (job.bestMetrics as { loss: number } | null) ?? null,
    error: (job.error as { code: string; message: string } | null) ?? null,
    promptId: job.kind === 'evaluate' ? job.promptId : job.status !== 'succeeded' ? null : trainedPromptId !== undefined ? trainedPromptId : await store.prompts.idForJob(job.id),
    result: job.result ?? null,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  });

  /** A dataset as a job's checks need it: its summary, stored at upload (read off its rows for datasets uploaded before). */
  async function findDataset(tenantId: string, id: string): Promise<CheckedDataset> {
    const dataset = await store.datasets.findById(tenantId, id);
    if (!dataset) throw notFound('dataset', id);
    if (dataset.summary) return { id, name: dataset.name, summary: dataset.summary as unknown as DatasetSummary };
    const content = await store.datasets.content(tenantId, id);
    if (!content) throw notFound('dataset', id);
    return { id, name: dataset.name, summary: summarizeRows(storedRows(content)) };
  }

  /** The dataset of a job, made from inline examples if that is what the request has. */
  async function trainingDataset(tenantId: string, request: JobRequest): Promise<CheckedDataset> {
    if ((request.datasetId === undefined) === (request.examples === undefined)) {
      throw new ApiError(400, 'VALIDATION_FAILED', 'give exactly one of datasetId and examples');
    }
    if (request.datasetId) return findDataset(tenantId, request.datasetId);
    const rows = request.examples!.map((fields, i) => ({ line: i + 1, fields }));
    const content = canonicalRows(rows);
    const summary = summarizeRows(rows);
    const dataset = await store.datasets.create({
      tenantId,
      name: 'inline examples',
      format: 'jsonl',
      columns: null,
      rowCount: request.examples!.length,
      sizeBytes: content.length,
      sha256: createHash('sha256').update(content).digest('hex'),
      content,
      summary,
    });
    return { id: dataset.id, name: dataset.name, summary };
  }

  function checkDataset({ summary }: CheckedDataset, spec: JobSpec, label: string): DatasetSummary {
    checkDatasetFitsTask(summary, spec.task, label);
    return summary;
  }

  app.post<{ Body: JobRequest; Headers: { 'idempotency-key'?: string } }>(
    '/v1/jobs',
    { schema: { tags: ['jobs'], body: JobRequestSchema, response: { 200: JobSchema, 202: JobSchema, ...errors(400, 401, 404, 503) } } },
    async (request, reply) => {
      const { tenantId, body } = request;
      const idempotencyKey = request.headers['idempotency-key'] ?? null;
      if (idempotencyKey !== null && (idempotencyKey.length === 0 || idempotencyKey.length > 200)) {
        throw new ApiError(400, 'VALIDATION_FAILED', 'Idempotency-Key must be 1 to 200 characters');
      }
      // A repeated request is answered with its first job; a job that could not be queued then is queued now.
      const earlier = idempotencyKey === null ? null : await store.jobs.findByIdempotencyKey(tenantId, idempotencyKey);
      if (earlier) {
        if (earlier.status === 'queued') await enqueue(earlier.id, true);
        return reply.code(200).send(await toJob(earlier));
      }
      const model = models.get(body.model);
      const requested = jobSpecOf(body, model);
      const dataset = await trainingDataset(tenantId, body);
      const train = checkDataset(dataset, requested, `dataset ${dataset.name}`);
      const validation = body.validationDatasetId ? checkDataset(await findDataset(tenantId, body.validationDatasetId), requested, 'validation dataset') : null;
      const spec = fitJobToLimits(requested, model, { train, validation }, deps.jobLimits);

      const { job, created } = await store.jobs
        .create({ tenantId, modelId: model.id, datasetId: dataset.id, validationDatasetId: body.validationDatasetId ?? null, spec, totalSteps: null, idempotencyKey })
        .catch((err: unknown) => {
          // A dataset deleted while this request was being checked.
          if (isForeignKeyViolation(err)) throw notFound('dataset', body.validationDatasetId ? `${dataset.id} or ${body.validationDatasetId}` : dataset.id);
          throw err;
        });
      if (created) await enqueue(job.id, idempotencyKey !== null);
      return reply.code(created ? 202 : 200).send(await toJob(job));
    },
  );

  const enqueue = (jobId: string, retryable: boolean) => enqueueJob(deps, app.log, jobId, retryable);

  app.get<{ Querystring: JobListQuery }>(
    '/v1/jobs',
    { schema: { tags: ['jobs'], querystring: JobListQuerySchema, response: { 200: JobListSchema, ...errors(400, 401) } } },
    async (request) => {
      const { status, cursor, limit = 20 } = request.query;
      const page = await store.jobs.list(request.tenantId, { ...(status ? { status } : {}), ...(cursor ? { cursor } : {}), limit });
      return { items: await Promise.all(page.items.map((job) => toJob(job))), nextCursor: page.nextCursor };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id',
    { schema: { tags: ['jobs'], params: IdParamsSchema, response: { 200: JobSchema, ...errors(401, 404) } } },
    async (request) => {
      const found = await store.jobs.findWithTrainedPrompt(request.tenantId, request.params.id);
      if (!found) throw notFound('job', request.params.id);
      return toJob(found.job, found.trainedPromptId);
    },
  );

  app.get<{ Params: { id: string }; Querystring: MetricsQuery }>(
    '/v1/jobs/:id/metrics',
    { schema: { tags: ['jobs'], params: IdParamsSchema, querystring: MetricsQuerySchema, response: { 200: MetricsSchema, ...errors(400, 401, 404) } } },
    async (request) => {
      const job = await store.jobs.findById(request.tenantId, request.params.id);
      if (!job) throw notFound('job', request.params.id);
      const { split, afterStep, limit = 1000 } = request.query;
      const items = await store.metrics.list(job.id, { ...(split ? { split } : {}), ...(afterStep !== undefined ? { afterStep } : {}), limit });
      return { items };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/jobs/:id/cancel',
    { schema: { tags: ['jobs'], params: IdParamsSchema, response: { 200: JobSchema, ...errors(401, 404, 503) } } },
    async (request) => {
      const job = await store.jobs.requestCancel(request.tenantId, request.params.id);
      if (!job) throw notFound('job', request.params.id);
      await passOnCancel(job);
      return toJob(job);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/jobs/:id',
    { schema: { tags: ['jobs'], params: IdParamsSchema, response: { 204: Type.Null(), ...errors(401, 503) } } },
    async (request, reply) => {
      // Cancelled first, so its worker stops and the queue lets go of it; then the row, with its metrics and checkpoint.
      const job = await store.jobs.requestCancel(request.tenantId, request.params.id);
      if (job) {
        await passOnCancel(job);
        await store.jobs.delete(request.tenantId, job.id);
      }
      return reply.code(204).send();
    },
  );

  /**
   * Tells the queue about a cancel already recorded in PostgreSQL: a queued job leaves the queue,
   * a running one's worker is told to stop. When Redis cannot be reached the answer is 503, so the
   * client retries until the cancel has gone through (cancelling again is harmless); meanwhile the
   * worker finds the request in the database (it looks every few steps, and before it starts a job).
   */
  async function passOnCancel(job: Job): Promise<void> {
    try {
      if (job.status === 'cancelled') await deps.trainQueue.remove(job.id);
      if (job.status === 'running') await publishCancel(deps.redis, deps.queuePrefix, job.id);
    } catch (err) {
      if (isQueueUnavailable(err)) {
        throw new ApiError(503, 'QUEUE_UNAVAILABLE', 'the cancel is recorded, but the job queue cannot be reached to pass it on; retry');
      }
      // A job a worker took between the cancel and the removal is locked in the queue; its worker sees the cancel in the database.
      if (job.status !== 'cancelled') throw err;
      app.log.warn({ err, jobId: job.id }, 'a cancelled job could not be removed from the queue');
    }
  }
}
