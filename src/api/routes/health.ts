import type { FastifyInstance } from 'fastify';
import { activeBackend } from '../../engine/backend.js';
import { errorBody } from '../errors.js';

/** Liveness (the process answers) and readiness (what requests depend on is up). */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    try {
      const { name, tfjsVersion, skipped } = activeBackend();
      return { status: 'ready', backend: { name, tfjsVersion, skipped } };
    } catch (err) {
      return reply.code(503).send(errorBody('NOT_READY', (err as Error).message));
    }
  });
}
