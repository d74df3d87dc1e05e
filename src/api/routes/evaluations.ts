/**
 * Evaluations of stored classification prompts on uploaded datasets. Each runs as a queued job of
 * kind `evaluate` on the workers, with what every job has (fenced writes, events, cancel, the
 * reconciler), and answers with accuracy, macro-F1, the confusion matrix and per-class counts.
 */
import { summarizeRows } from '../../engine/datasets/dataset-summary.js';
import type { FastifyInstance } from 'fastify';
import type { Job } from '../../db/generated/client.js';
import { isForeignKeyViolation } from '../../db/prisma-errors.js';
import type { TaskSpec } from '../../engine/tasks/task-spec.js';
import { storedRows } from '../../datasets/stored-dataset.js';
import type { EvaluationSpec } from '../../queue/job-spec.js';
import type { ApiDeps } from '../api-deps.js';
import { ApiError, notFound } from '../api-error.js';
import { enqueueJob } from '../enqueue-job.js';
import { checkDatasetFitsTask } from '../job-request.js';
import { fitEvaluationToLimits } from '../job-limits.js';
import { errors, IdParamsSchema } from '../schemas/common.js';
import { EvaluationListQuerySchema, EvaluationListSchema, EvaluationParamsSchema, EvaluationRequestSchema, EvaluationSchema } from '../schemas/evaluations.js';

const evaluationView = (job: Job) => ({
  id: job.id,
  status: job.status,
  promptId: job.promptId,
  datasetId: job.datasetId,
  limit: (job.spec as unknown as EvaluationSpec).limit,
  result: job.result ?? null,
  error: (job.error as { code: string; message: string } | null) ?? null,
  createdAt: job.createdAt.toISOString(),
  startedAt: job.startedAt?.toISOString() ?? null,
  finishedAt: job.finishedAt?.toISOString() ?? null,
});

export async function evaluationRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }): Promise<void> {
  const { store, models } = deps;

  async function findPrompt(tenantId: string, id: string) {
    const prompt = await store.prompts.findById(tenantId, id);
    if (!prompt) throw notFound('prompt', id);
    return prompt;
  }

  app.post<{ Params: { id: string }; Body: { datasetId: string; limit?: number } }>(
    '/v1/prompts/:id/evaluations',
    { schema: { tags: ['prompts'], params: IdParamsSchema, body: EvaluationRequestSchema, response: { 202: EvaluationSchema, ...errors(400, 401, 404, 503) } } },
    async (request, reply) => {
      const { tenantId, body } = request;
      const prompt = await findPrompt(tenantId, request.params.id);
      const task = prompt.task as unknown as TaskSpec;
      if (task.kind !== 'classification') throw new ApiError(400, 'WRONG_TASK', 'only a classification prompt is evaluated; this one generates text');
      const model = models.get(prompt.modelId);
      const content = await store.datasets.content(tenantId, body.datasetId);
      if (!content) throw notFound('dataset', body.datasetId);
      const rows = storedRows(content).slice(0, body.limit);
      checkDatasetFitsTask(summarizeRows(rows), task, 'the dataset');
      const spec: EvaluationSpec = { kind: 'evaluate', limit: body.limit ?? null, batchSize: fitEvaluationToLimits(task, prompt.n, rows, model, deps.jobLimits) };
      const { job } = await store.jobs
        .create({ tenantId, kind: 'evaluate', promptId: prompt.id, modelId: model.id, datasetId: body.datasetId, validationDatasetId: null, spec, totalSteps: null, idempotencyKey: null })
        .catch((err: unknown) => {
          // The dataset or the prompt was deleted while this request was being checked.
          if (isForeignKeyViolation(err)) throw notFound('dataset or prompt', `${body.datasetId}, ${prompt.id}`);
          throw err;
        });
      await enqueueJob(deps, app.log, job.id, false);
      return reply.code(202).send(evaluationView(job));
    },
  );

  app.get<{ Params: { id: string }; Querystring: { cursor?: string; limit?: number } }>(
    '/v1/prompts/:id/evaluations',
    { schema: { tags: ['prompts'], params: IdParamsSchema, querystring: EvaluationListQuerySchema, response: { 200: EvaluationListSchema, ...errors(400, 401, 404) } } },
    async (request) => {
      const prompt = await findPrompt(request.tenantId, request.params.id);
      const { cursor, limit = 20 } = request.query;
      const page = await store.jobs.list(request.tenantId, { kind: 'evaluate', promptId: prompt.id, ...(cursor ? { cursor } : {}), limit });
      return { items: page.items.map(evaluationView), nextCursor: page.nextCursor };
    },
  );

  app.get<{ Params: { id: string; evaluationId: string } }>(
    '/v1/prompts/:id/evaluations/:evaluationId',
    { schema: { tags: ['prompts'], params: EvaluationParamsSchema, response: { 200: EvaluationSchema, ...errors(401, 404) } } },
    async (request) => {
      const job = await store.jobs.findById(request.tenantId, request.params.evaluationId);
      if (!job || job.kind !== 'evaluate' || job.promptId !== request.params.id) throw notFound('evaluation', request.params.evaluationId);
      return evaluationView(job);
    },
  );
}
