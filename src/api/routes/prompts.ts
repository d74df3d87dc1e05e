import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { EngineError } from '../../engine/engine-error.js';
import { encodePeftAdapter } from '../../engine/peft-adapter.js';
import { encodePromptFile } from '../../engine/prompt-file.js';
import { resolvePromptSpec, type PromptSpec } from '../../engine/prompts/prompt-spec.js';
import { templateFields } from '../../engine/tasks/template.js';
import type { TaskSpec } from '../../engine/tasks/task-spec.js';
import type { PromptSource, PromptSummary } from '../../db/prompts-repository.js';
import { packAdapter } from '../adapter-archive.js';
import type { ApiDeps } from '../api-deps.js';
import { ApiError, notFound } from '../api-error.js';
import { openEventStream, wantsStream } from '../event-stream.js';
import { importedPrompt, type PromptImportRequest } from '../prompt-import.js';
import { errors, IdParamsSchema } from '../schemas/common.js';
import {
  GenerateRequestSchema,
  GenerationsSchema,
  IMPORT_FILE_BYTES,
  PredictionsSchema,
  PredictRequestSchema,
  PromptImportSchema,
  PromptListQuerySchema,
  PromptListSchema,
  PromptSchema,
  WeightsJsonSchema,
  WeightsQuerySchema,
} from '../schemas/prompts.js';

type StoredPrompt = NonNullable<Awaited<ReturnType<ApiDeps['store']['prompts']['findById']>>>;
type PromptListQuery = { model?: string; method?: string; jobId?: string; source?: PromptSource; cursor?: string; limit?: number };
const taskOf = (prompt: StoredPrompt) => prompt.task as unknown as TaskSpec;
const specOf = (prompt: StoredPrompt) => prompt.spec as unknown as PromptSpec;

/** A prompt as the API shows it (its tensors by shape only). */
const promptView = (prompt: PromptSummary) => ({
  id: prompt.id,
  jobId: prompt.jobId,
  source: prompt.source,
  model: prompt.modelId,
  method: prompt.method,
  n: prompt.n,
  r: prompt.r,
  activation: prompt.activation,
  trainableParameters: prompt.trainableParameters,
  shapes: prompt.shapes,
  task: prompt.task,
  metrics: prompt.metrics,
  createdAt: prompt.createdAt.toISOString(),
});

/** Room for the base64 of an import's file, with the rest of its JSON. */
const IMPORT_BODY_LIMIT = Math.ceil(IMPORT_FILE_BYTES / 3) * 4 + 64 * 1024;
type InputsBody = { texts?: string[]; inputs?: Array<Record<string, string>>; maxNewTokens?: number };
type GenerateBody = InputsBody & { temperature?: number; topK?: number; topP?: number; seed?: number; stream?: boolean };

/** The sampling a generate request asks for; none (greedy) without a temperature. */
const samplingOf = ({ temperature, topK, topP, seed }: GenerateBody) =>
  temperature ? { sampling: { temperature, ...(topK ? { topK } : {}), ...(topP ? { topP } : {}), ...(seed !== undefined ? { seed } : {}) } } : {};

/** The inputs of a predict or generate request as template fields. */
function fieldsOf(body: InputsBody, task: TaskSpec): Array<Record<string, string>> {
  if ((body.texts === undefined) === (body.inputs === undefined)) throw new ApiError(400, 'VALIDATION_FAILED', 'give exactly one of texts and inputs');
  if (body.inputs) return body.inputs;
  const fields = templateFields(task.template);
  if (fields.length !== 1) throw new ApiError(400, 'VALIDATION_FAILED', `the template needs fields ${fields.join(', ')}: send inputs`);
  return body.texts!.map((text) => ({ [fields[0]!]: text }));
}

export async function promptRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }): Promise<void> {
  const { store, inference, models } = deps;

  /** Predict and generate read prompts through the cache: every call needs the whole prompt. */
  async function findPrompt(tenantId: string, id: string, { cached = false } = {}): Promise<StoredPrompt> {
    const prompt = await (cached ? deps.prompts.find(tenantId, id) : store.prompts.findById(tenantId, id));
    if (!prompt) throw notFound('prompt', id);
    return prompt;
  }

  const inferenceCall = (prompt: StoredPrompt, body: InputsBody) => {
    const X = prompt.tensors.X!;
    return {
      modelId: prompt.modelId,
      promptKey: prompt.id,
      prompt: { shape: X.shape as [number, number], data: X.data },
      task: taskOf(prompt),
      inputs: fieldsOf(body, taskOf(prompt)),
      ...(body.maxNewTokens ? { maxNewTokens: body.maxNewTokens } : {}),
    };
  };

  app.post<{ Body: PromptImportRequest }>(
    '/v1/prompts',
    { bodyLimit: IMPORT_BODY_LIMIT, schema: { tags: ['prompts'], body: PromptImportSchema, response: { 201: PromptSchema, ...errors(400, 401, 404, 413) } } },
    async (request, reply) => {
      const model = models.get(request.body.model);
      const prompt = await store.prompts.create(importedPrompt(request.body, model, request.tenantId));
      return reply.code(201).send(promptView(prompt));
    },
  );

  app.get<{ Querystring: PromptListQuery }>(
    '/v1/prompts',
    { schema: { tags: ['prompts'], querystring: PromptListQuerySchema, response: { 200: PromptListSchema, ...errors(400, 401) } } },
    async (request) => {
      const { model, method, jobId, source, cursor, limit = 20 } = request.query;
      const page = await store.prompts.list(request.tenantId, { ...(model ? { modelId: model } : {}), ...(method ? { method } : {}), ...(jobId ? { jobId } : {}), ...(source ? { source } : {}), ...(cursor ? { cursor } : {}), limit });
      return { items: page.items.map(promptView), nextCursor: page.nextCursor };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/prompts/:id',
    { schema: { tags: ['prompts'], params: IdParamsSchema, response: { 200: PromptSchema, ...errors(401, 404) } } },
    async (request) => promptView(await findPrompt(request.tenantId, request.params.id)),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/prompts/:id',
    { schema: { tags: ['prompts'], params: IdParamsSchema, response: { 204: Type.Null(), ...errors(401) } } },
    async (request, reply) => {
      if (await store.prompts.delete(request.tenantId, request.params.id)) await deps.invalidate({ kind: 'prompt', id: request.params.id });
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: string }; Querystring: { format?: 'json' | 'safetensors' | 'peft' } }>(
    '/v1/prompts/:id/weights',
    {
      schema: {
        tags: ['prompts'],
        params: IdParamsSchema,
        querystring: WeightsQuerySchema,
        response: { 200: WeightsJsonSchema, ...errors(401, 404) },
      },
    },
    async (request, reply) => {
      const prompt = await findPrompt(request.tenantId, request.params.id);
      const { format } = request.query;
      if (format === 'safetensors' || format === 'peft') {
        const model = models.get(prompt.modelId);
        const spec = resolvePromptSpec(specOf(prompt), model.dims.hiddenSize);
        const modelInfo = { id: model.id, type: model.modelType, hiddenSize: model.dims.hiddenSize, stack: model.promptStack };
        if (format === 'peft') {
          const adapter = encodePeftAdapter(
            prompt.tensors.X!,
            { ...modelInfo, numHeads: model.dims.numHeads, numLayers: model.dims.numLayers },
            { kind: spec.init, ...(spec.initText ? { text: spec.initText } : {}) },
          );
          return reply
            .type('application/x-tar')
            .header('content-disposition', `attachment; filename="prompt-${prompt.id}-peft.tar"`)
            .send(Buffer.from(packAdapter(`prompt-${prompt.id}`, adapter, prompt.createdAt)));
        }
        const bytes = encodePromptFile({
          spec,
          trainableParameters: prompt.trainableParameters,
          tensors: new Map(Object.entries(prompt.tensors)),
          model: modelInfo,
          task: taskOf(prompt),
          metrics: prompt.metrics as unknown as Record<string, number>,
        });
        return reply
          .type('application/octet-stream')
          .header('content-disposition', `attachment; filename="prompt-${prompt.id}.safetensors"`)
          .send(bytes);
      }
      return {
        method: prompt.method,
        tensors: Object.fromEntries(Object.entries(prompt.tensors).map(([name, t]) => [name, { shape: t.shape, data: Array.from(t.data) }])),
      };
    },
  );

  app.post<{ Params: { id: string }; Body: InputsBody }>(
    '/v1/prompts/:id/predict',
    { schema: { tags: ['prompts'], params: IdParamsSchema, body: PredictRequestSchema, response: { 200: PredictionsSchema, ...errors(400, 401, 404, 503) } } },
    async (request) => {
      const prompt = await findPrompt(request.tenantId, request.params.id, { cached: true });
      if (taskOf(prompt).kind !== 'classification') throw new ApiError(400, 'WRONG_TASK', 'this prompt generates text: use /generate');
      const { labelWords } = taskOf(prompt) as Extract<TaskSpec, { kind: 'classification' }>;
      const predictions = await inference.classify(inferenceCall(prompt, request.body));
      return { predictions: predictions.map((p) => ({ label: p.label, labelWord: labelWords[p.label]!, probabilities: p.probabilities })) };
    },
  );

  app.post<{ Params: { id: string }; Body: GenerateBody }>(
    '/v1/prompts/:id/generate',
    { schema: { tags: ['prompts'], params: IdParamsSchema, body: GenerateRequestSchema, response: { 200: GenerationsSchema, ...errors(400, 401, 404, 503) } } },
    async (request, reply) => {
      const prompt = await findPrompt(request.tenantId, request.params.id, { cached: true });
      if (taskOf(prompt).kind !== 'text-to-text') throw new ApiError(400, 'WRONG_TASK', 'this prompt classifies: use /predict');
      const call = { ...inferenceCall(prompt, request.body), ...samplingOf(request.body) };
      if (!wantsStream(request, request.body.stream)) {
        const outputs = await inference.generate(call);
        return { outputs: outputs.map((text) => ({ text })) };
      }
      // Refusals of the request itself came before this point, as JSON; from here on, as events.
      const out = openEventStream(reply);
      try {
        const outputs = await inference.generate({ ...call, stream: true }, (index, text) => out.send('text', { index, text }));
        out.send('done', { outputs: outputs.map((text) => ({ text })) });
      } catch (err) {
        const { code, message } = err instanceof EngineError ? err : { code: 'INTERNAL', message: 'generation failed' };
        if (!(err instanceof EngineError)) request.log.error({ err }, 'a streamed generation failed');
        out.send('error', { code, message });
      } finally {
        out.end();
      }
    },
  );
}
