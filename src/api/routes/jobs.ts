import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Job } from '../../db/generated/client.js';
import { publishCancel } from '../../queue/cancel-channel.js';
import { enqueueTraining } from '../../queue/train-queue.js';
import type { JobSpec } from '../../worker/job-spec.js';
import { canonicalRows, storedRows } from '../../worker/stored-dataset.js';
import type { ApiDeps } from '../api-deps.js';
import { ApiError, notFound } from '../api-error.js';
import { checkRowsFitTask, jobSpecOf, trainableParametersOf } from '../job-request.js';
import { errors, IdParamsSchema } from '../schemas/common.js';
import { JobListQuerySchema, JobListSchema, JobRequestSchema, JobSchema, MetricsQuerySchema, MetricsSchema, type JobRequest } from '../schemas/jobs.js';

type JobListQuery = { status?: Job['status']; cursor?: string; limit?: number };
type MetricsQuery = { split?: 'train' | 'validation'; afterStep?: number; limit?: number };

export async function jobRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }): Promise<void> {
  const { store, models } = deps;

  const trainableParameters = (job: Job) => {
    const model = models.find(job.modelId);
    return model ? trainableParametersOf(job.spec as unknown as JobSpec, model) : null;
  };

  const toJob = async (job: Job) => ({
    id: job.id,
    status: job.status,
    model: job.modelId,
    datasetId: job.datasetId,
    validationDatasetId: job.validationDatasetId,
    spec: job.spec,
    trainableParameters: trainableParameters(job),
    progress: job.progress || job.step ? { ...(job.progress as object | null), step: job.step, totalSteps: job.totalSteps } : null,
    bestMetrics: (job.bestMetrics as { loss: number } | null) ?? null,
    error: (job.error as { code: string; message: string } | null) ?? null,
    promptId: job.status === 'succeeded' ? await store.prompts.idForJob(job.id) : null,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  });

  /** The dataset of a job, made from inline examples if that is what the request has. */
  async function trainingDataset(tenantId: string, request: JobRequest) {
    if ((request.datasetId === undefined) === (request.examples === undefined)) {
      throw new ApiError(400, 'VALIDATION_FAILED', 'give exactly one of datasetId and examples');
    }
    if (request.datasetId) {
      const dataset = await store.datasets.findById(tenantId, request.datasetId);
      if (!dataset) throw notFound('dataset', request.datasetId);
      return dataset;
    }
    const content = canonicalRows(request.examples!.map((fields, i) => ({ line: i + 1, fields })));
    return store.datasets.create({
      tenantId,
      name: 'inline examples',
      format: 'jsonl',
      columns: null,
      rowCount: request.examples!.length,
      sizeBytes: content.length,
      sha256: createHash('sha256').update(content).digest('hex'),
      content,
    });
  }

  async function checkDataset(tenantId: string, datasetId: string, spec: JobSpec, label: string) {
    const content = await store.datasets.content(tenantId, datasetId);
    if (!content) throw notFound('dataset', datasetId);
    checkRowsFitTask(storedRows(content), spec.task, label);
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
      const spec = jobSpecOf(body, model);
      const dataset = await trainingDataset(tenantId, body);
      await checkDataset(tenantId, dataset.id, spec, `dataset ${dataset.name}`);
      if (body.validationDatasetId) await checkDataset(tenantId, body.validationDatasetId, spec, 'validation dataset');

      const { job, created } = await store.jobs.create({
        tenantId,
        modelId: model.id,
        datasetId: dataset.id,
        validationDatasetId: body.validationDatasetId ?? null,
        spec,
        totalSteps: null,
        idempotencyKey,
      });
      if (created) await enqueue(job.id, idempotencyKey !== null);
      return reply.code(created ? 202 : 200).send(await toJob(job));
    },
  );

  /**
   * Queues a job. If Redis cannot take it, a job with an idempotency key stays queued for the
   * client's retry to queue; one without is failed, as nobody could ever start it.
   */
  async function enqueue(jobId: string, retryable: boolean): Promise<void> {
    try {
      await enqueueTraining(deps.trainQueue, jobId);
    } catch (err) {
      app.log.error({ err, jobId }, 'could not enqueue');
      if (!retryable) await store.jobs.endUnfinished(jobId, 'failed', { code: 'QUEUE_UNAVAILABLE', message: 'the job queue could not be reached' });
      throw new ApiError(503, 'QUEUE_UNAVAILABLE', `the job queue cannot be reached; ${retryable ? 'retry with the same Idempotency-Key' : 'try again'}`);
    }
  }

  app.get<{ Querystring: JobListQuery }>(
    '/v1/jobs',
    { schema: { tags: ['jobs'], querystring: JobListQuerySchema, response: { 200: JobListSchema, ...errors(400, 401) } } },
    async (request) => {
      const { status, cursor, limit = 20 } = request.query;
      const page = await store.jobs.list(request.tenantId, { ...(status ? { status } : {}), ...(cursor ? { cursor } : {}), limit });
      return { items: await Promise.all(page.items.map(toJob)), nextCursor: page.nextCursor };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id',
    { schema: { tags: ['jobs'], params: IdParamsSchema, response: { 200: JobSchema, ...errors(401, 404) } } },
    async (request) => {
      const job = await store.jobs.findById(request.tenantId, request.params.id);
      if (!job) throw notFound('job', request.params.id);
      return toJob(job);
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
    { schema: { tags: ['jobs'], params: IdParamsSchema, response: { 200: JobSchema, ...errors(401, 404) } } },
    async (request) => {
      const job = await store.jobs.requestCancel(request.tenantId, request.params.id);
      if (!job) throw notFound('job', request.params.id);
      if (job.status === 'cancelled') await deps.trainQueue.remove(job.id).catch(() => undefined);
      if (job.status === 'running') await publishCancel(deps.redis, deps.queuePrefix, job.id);
      return toJob(job);
    },
  );
}
