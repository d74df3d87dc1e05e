import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { registerErrorHandlers } from './errors.js';
import { healthRoutes } from './routes/health.js';

/** Every route and the error handlers, as one plugin. */
export const api = fp(async (app: FastifyInstance) => {
  registerErrorHandlers(app);
  await app.register(healthRoutes);
});

/** The HTTP API without a listening socket, so tests can `inject` requests. */
export async function buildApp(logger: FastifyBaseLogger): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: logger });
  await app.register(api);
  return app;
}
