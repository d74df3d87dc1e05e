import type { FastifyInstance } from 'fastify';
import { TASK_CATALOG } from '../../engine/tasks/task-catalog.js';
import { errors } from '../schemas/common.js';
import { TaskPresetListSchema } from '../schemas/tasks.js';

const presets = { items: Object.entries(TASK_CATALOG).map(([id, preset]) => ({ id, ...preset })) };

/** The task catalog: what `"task": "<id>"` in a job and `?preset=<id>` on an upload stand for. */
export async function taskRoutes(app: FastifyInstance): Promise<void> {
  app.get('/v1/tasks', { schema: { tags: ['tasks'], response: { 200: TaskPresetListSchema, ...errors(401) } } }, async () => presets);
}
