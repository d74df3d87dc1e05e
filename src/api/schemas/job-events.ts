import { Type } from 'typebox';
import { MAX_INT4 } from './common.js';

export const JobEventsQuerySchema = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_INT4, description: 'The id of the last event seen: the events after it.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  stream: Type.Optional(Type.Boolean({ description: 'Server-Sent Events instead of a list (as `Accept: text/event-stream`).' })),
});

export const JobEventSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('job.event'),
  job_id: Type.String(),
  created_at: Type.Integer({ description: 'Unix seconds.' }),
  level: Type.Union([Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')]),
  type: Type.Union([Type.Literal('message'), Type.Literal('metrics')]),
  message: Type.String(),
  data: Type.Unknown(),
});

export const JobEventListSchema = Type.Object({ object: Type.Literal('list'), data: Type.Array(JobEventSchema), has_more: Type.Boolean() });

export const CheckpointListSchema = Type.Object({
  items: Type.Array(Type.Object({ step: Type.Integer(), metrics: Type.Unknown(), createdAt: Type.String({ format: 'date-time' }) })),
});
