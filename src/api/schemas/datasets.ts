import { Type, type Static } from 'typebox';
import { PAGE_QUERY, PageSchema } from './common.js';
import { TaskIdSchema } from './tasks.js';

export const DatasetQuerySchema = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  format: Type.Optional(Type.Union([Type.Literal('jsonl'), Type.Literal('csv'), Type.Literal('tsv')], { description: 'Else from the Content-Type.' })),
  columns: Type.Optional(Type.String({ description: 'field=column pairs, e.g. text=sentence,label=label', maxLength: 1000 })),
  preset: Type.Optional(TaskIdSchema),
  header: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Literal('auto')])),
});
export type DatasetQuery = Static<typeof DatasetQuerySchema>;

export const DatasetSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  format: Type.String(),
  columns: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()]),
  rowCount: Type.Integer(),
  sizeBytes: Type.Integer(),
  sha256: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const DatasetListQuerySchema = Type.Object(PAGE_QUERY);
export const DatasetListSchema = PageSchema(DatasetSchema);
