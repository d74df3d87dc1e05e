/**
 * Dataset uploads: JSONL, CSV or TSV as the raw request body, parsed and checked before storing.
 * What is stored is the rows as read (one JSON object of fields per line), so the worker never
 * needs the upload's format, header or column mapping again. The body is never held here: it is
 * streamed into a parse thread (src/uploads), which answers with the rows to store.
 */
import { Readable } from 'node:stream';
import { errorCodes, type FastifyInstance, type FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { DatasetFormat } from '../../engine/datasets/dataset-row.js';
import { TASK_CATALOG, type DatasetReading } from '../../engine/tasks/task-catalog.js';
import { UploadRefused, type UploadRefusalReason } from '../../uploads/upload-parsers.js';
import type { ApiDeps } from '../api-deps.js';
import { ApiError, notFound } from '../api-error.js';
import { errors, IdParamsSchema } from '../schemas/common.js';
import { DatasetListQuerySchema, DatasetListSchema, DatasetQuerySchema, DatasetSchema, type DatasetQuery } from '../schemas/datasets.js';

const FORMAT_OF_TYPE: Record<string, DatasetFormat> = {
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
  'application/jsonlines': 'jsonl',
  'text/csv': 'csv',
  'text/tab-separated-values': 'tsv',
};
const UPLOAD_TYPES = [...Object.keys(FORMAT_OF_TYPE), 'text/plain', 'application/octet-stream'];

function parseColumns(raw: string): Record<string, string> {
  const pairs = raw.split(',').map((pair) => pair.split('='));
  if (pairs.some((pair) => pair.length !== 2 || !pair[0]!.trim() || !pair[1]!.trim())) {
    throw new ApiError(400, 'VALIDATION_FAILED', `columns wants field=column pairs, got "${raw}"`);
  }
  return Object.fromEntries(pairs.map(([field, column]) => [field!.trim(), column!.trim()]));
}

/** How each refusal of an upload is answered. */
const REFUSALS: Record<UploadRefusalReason, { status: number; code: string }> = {
  invalid: { status: 400, code: 'DATASET_INVALID' },
  'too-large': { status: 413, code: 'DATASET_TOO_LARGE' },
  'body-too-large': { status: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' }, // as Fastify answers bodies over its limit
  busy: { status: 503, code: 'UPLOADS_BUSY' },
  timeout: { status: 408, code: 'UPLOAD_TIMEOUT' },
  aborted: { status: 400, code: 'UPLOAD_ABORTED' }, // nobody is left to read it
};
/** What a busy answer tells the client to wait: about what a 20 MiB upload takes to parse. */
const BUSY_RETRY_AFTER_S = 5;

function refusal(err: UploadRefused, reply: FastifyReply): ApiError {
  if (err.reason === 'busy') reply.header('retry-after', String(BUSY_RETRY_AFTER_S));
  // What else a body past the limit, or too slow, would send is not waited for: the connection closes after the answer.
  if (err.reason === 'body-too-large' || err.reason === 'timeout') reply.header('connection', 'close');
  const { status, code } = REFUSALS[err.reason];
  return new ApiError(status, code, err.message, err.details);
}

const headerOption = (raw: 'true' | 'false' | 'auto'): boolean | 'auto' => (raw === 'auto' ? 'auto' : raw === 'true');

const toDataset = (row: { id: string; name: string; format: string; columns: unknown; rowCount: number; sizeBytes: number; sha256: string; createdAt: Date }) => ({
  id: row.id,
  name: row.name,
  format: row.format,
  columns: (row.columns as Record<string, string> | null) ?? null,
  rowCount: row.rowCount,
  sizeBytes: row.sizeBytes,
  sha256: row.sha256,
  createdAt: row.createdAt.toISOString(),
});

export async function datasetRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }): Promise<void> {
  const { store, uploadParsers } = deps;
  const { maxUploadBytes } = uploadParsers.settings;
  // The body stays a stream, read by the handler once the query is valid. A declared length past
  // the limit is refused before any of it is read (and the connection closed, as Fastify does).
  app.addContentTypeParser(UPLOAD_TYPES, (request, payload, done) => {
    if (Number(request.headers['content-length']) > maxUploadBytes) done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), undefined);
    else done(null, payload);
  });

  app.post<{ Querystring: DatasetQuery; Body: Readable }>(
    '/v1/datasets',
    {
      schema: { tags: ['datasets'], querystring: DatasetQuerySchema, response: { 201: DatasetSchema, ...errors(400, 401, 408, 413, 415, 503) } },
    },
    async (request, reply) => {
      // What the query says, else the Content-Type (format only), else the preset's reading.
      const preset: DatasetReading | undefined = request.query.preset ? TASK_CATALOG[request.query.preset].reading : undefined;
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const format = request.query.format ?? FORMAT_OF_TYPE[type] ?? preset?.format;
      if (!format) throw new ApiError(400, 'VALIDATION_FAILED', `say the format: ?format=jsonl|csv|tsv, ?preset=, or a Content-Type of ${Object.keys(FORMAT_OF_TYPE).join(', ')}`);
      const columns = request.query.columns ? parseColumns(request.query.columns) : preset ? { ...preset.columns } : null;
      const header = request.query.header ? headerOption(request.query.header) : (preset?.header ?? 'auto');
      const name = request.query.name ?? 'upload';
      // A POST with neither body nor Content-Type skips the content-type parsers.
      if (!(request.body instanceof Readable)) throw new ApiError(400, 'DATASET_INVALID', 'the upload is empty');
      const upload = await uploadParsers.parse(request.body, { format, header, source: name, ...(columns ? { columns } : {}) }).catch((err: unknown) => {
        throw err instanceof UploadRefused ? refusal(err, reply) : err;
      });
      const dataset = await store.datasets.create({ tenantId: request.tenantId, name, format, columns, ...upload });
      return reply.code(201).send(toDataset(dataset));
    },
  );

  app.get<{ Querystring: { cursor?: string; limit?: number } }>(
    '/v1/datasets',
    { schema: { tags: ['datasets'], querystring: DatasetListQuerySchema, response: { 200: DatasetListSchema, ...errors(400, 401) } } },
    async (request) => {
      const { cursor, limit = 20 } = request.query;
      const page = await store.datasets.list(request.tenantId, { ...(cursor ? { cursor } : {}), limit });
      return { items: page.items.map(toDataset), nextCursor: page.nextCursor };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/datasets/:id',
    { schema: { tags: ['datasets'], params: IdParamsSchema, response: { 204: Type.Null(), ...errors(401, 409) } } },
    async (request, reply) => {
      const deletion = await store.datasets.delete(request.tenantId, request.params.id);
      if (deletion.outcome === 'in-use') {
        throw new ApiError(409, 'DATASET_IN_USE', `jobs that have not ended use the dataset: ${deletion.jobIds.join(', ')}; cancel them or wait for them to end`, { jobIds: deletion.jobIds });
      }
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/datasets/:id',
    { schema: { tags: ['datasets'], params: IdParamsSchema, response: { 200: DatasetSchema, ...errors(401, 404) } } },
    async (request) => {
      const dataset = await store.datasets.findById(request.tenantId, request.params.id);
      if (!dataset) throw notFound('dataset', request.params.id);
      return toDataset(dataset);
    },
  );
}
