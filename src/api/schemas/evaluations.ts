import { Type } from 'typebox';
import { PAGE_QUERY, PageSchema } from './common.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const EvaluationRequestSchema = Type.Object(
  {
    datasetId: Type.String({ minLength: 1, maxLength: 100 }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Evaluate the first `limit` rows only.' })),
  },
  { additionalProperties: false },
);

export const EvaluationSchema = Type.Object({
  id: Type.String(),
  status: Type.Union(['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s))),
  promptId: Nullable(Type.String()),
  datasetId: Nullable(Type.String()),
  limit: Nullable(Type.Integer()),
  result: Type.Unknown({ description: 'The report once succeeded; else null.' }),
  error: Nullable(Type.Object({ code: Type.String(), message: Type.String() })),
  createdAt: Type.String({ format: 'date-time' }),
  startedAt: Nullable(Type.String({ format: 'date-time' })),
  finishedAt: Nullable(Type.String({ format: 'date-time' })),
});

export const EvaluationListQuerySchema = Type.Object(PAGE_QUERY);
export const EvaluationListSchema = PageSchema(EvaluationSchema);
export const EvaluationParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }), evaluationId: Type.String({ minLength: 1, maxLength: 100 }) });
