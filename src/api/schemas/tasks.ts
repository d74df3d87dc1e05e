import { Type } from 'typebox';
import { TASK_IDS, type TaskId } from '../../engine/tasks/task-catalog.js';

export const TaskIdSchema = Type.Unsafe<TaskId>(
  Type.Union(
    TASK_IDS.map((id) => Type.Literal(id)),
    { description: 'A task of the catalog (`GET /v1/tasks`): its template and label words.' },
  ),
);

export const TaskPresetListSchema = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Type.String(),
      title: Type.String(),
      description: Type.String(),
      reading: Type.Object({
        format: Type.String(),
        header: Type.Optional(Type.Boolean()),
        columns: Type.Record(Type.String(), Type.String()),
        labels: Type.Array(Type.String()),
        labelNames: Type.Optional(Type.Record(Type.String(), Type.String())),
      }),
      task: Type.Unknown(),
      encoderTask: Type.Optional(Type.Unknown()),
    }),
  ),
});
