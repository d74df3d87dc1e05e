/**
 * Dataset uploads: JSONL, CSV or TSV as the raw request body, parsed and checked before storing.
 * What is stored is the rows as read (one JSON object of fields per line), so the worker never
 * needs the upload's format, header or column mapping again.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { DatasetFormat } from '../../engine/datasets/dataset-row.js';
import { parseDataset } from '../../engine/datasets/parse-dataset.js';
import { TASK_CATALOG, type DatasetReading } from '../../engine/tasks/task-catalog.js';
import { canonicalRows } from '../../worker/stored-dataset.js';
import type { ApiDeps } from '../api-deps.js';
import { ApiError, notFound } from '../api-error.js';
import { errors, IdParamsSchema } from '../schemas/common.js';
import { DatasetQuerySchema, DatasetSchema, type DatasetQuery } from '../schemas/datasets.js';

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
  const { store } = deps;
  app.addContentTypeParser(UPLOAD_TYPES, { parseAs: 'buffer', bodyLimit: deps.maxUploadBytes }, (_request, body, done) => done(null, body));

  app.post<{ Querystring: DatasetQuery; Body: Buffer }>(
    '/v1/datasets',
    {
      bodyLimit: deps.maxUploadBytes,
      schema: { tags: ['datasets'], querystring: DatasetQuerySchema, response: { 201: DatasetSchema, ...errors(400, 401, 413, 415) } },
    },
    async (request, reply) => {
      // What the query says, else the Content-Type (format only), else the preset's reading.
      const preset: DatasetReading | undefined = request.query.preset ? TASK_CATALOG[request.query.preset].reading : undefined;
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const format = request.query.format ?? FORMAT_OF_TYPE[type] ?? preset?.format;
      if (!format) throw new ApiError(400, 'VALIDATION_FAILED', `say the format: ?format=jsonl|csv|tsv, ?preset=, or a Content-Type of ${Object.keys(FORMAT_OF_TYPE).join(', ')}`);
      const content = request.body;
      if (!Buffer.isBuffer(content) || content.length === 0) throw new ApiError(400, 'DATASET_INVALID', 'the upload is empty');
      const columns = request.query.columns ? parseColumns(request.query.columns) : preset ? { ...preset.columns } : null;
      const header = request.query.header ? headerOption(request.query.header) : (preset?.header ?? 'auto');
      const name = request.query.name ?? 'upload';
      const rows = parseDataset(content.toString('utf8'), { format, header, source: name, ...(columns ? { columns } : {}) });
      const dataset = await store.datasets.create({
        tenantId: request.tenantId,
        name,
        format,
        columns,
        rowCount: rows.length,
        sizeBytes: content.length,
        sha256: createHash('sha256').update(content).digest('hex'),
        content: canonicalRows(rows),
      });
      return reply.code(201).send(toDataset(dataset));
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
