import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ApiDeps } from './api-deps.js';
import { answerClientError, answerFrameworkError, registerErrorHandlers } from './errors.js';
import { auth } from './plugins/auth.js';
import { queueBoard } from './plugins/queue-board.js';
import { requestMetrics } from './plugins/request-metrics.js';
import { storableStrings } from './plugins/storable-strings.js';
import { datasetRoutes } from './routes/datasets.js';
import { evaluationRoutes } from './routes/evaluations.js';
import { healthRoutes } from './routes/health.js';
import { jobEventRoutes } from './routes/job-events.js';
import { jobRoutes } from './routes/jobs.js';
import { modelRoutes } from './routes/models.js';
import { promptRoutes } from './routes/prompts.js';
import { taskRoutes } from './routes/tasks.js';
import { uiRoutes } from './routes/ui.js';
import { validatorPerHttpPart } from './validators.js';

export const OPENAPI_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../../openapi.yaml');

/** Every route, the error handlers, auth and the API's own description, as one plugin. */
export const api = fp(async (app: FastifyInstance, { deps }: { deps: ApiDeps }) => {
  registerErrorHandlers(app);
  await app.register(swagger, { mode: 'static', specification: { path: OPENAPI_PATH, baseDir: dirname(OPENAPI_PATH) } });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  const spec = readFileSync(OPENAPI_PATH, 'utf8');
  app.get('/openapi.yaml', { schema: { hide: true } }, (_request, reply) => reply.type('application/yaml').send(spec));
  await app.register(requestMetrics, { metrics: deps.metrics, serve: deps.metricsOnApiPort });
  await app.register(auth, { keys: deps.keys });
  await app.register(storableStrings);
  if (deps.queueBoard) await app.register(queueBoard, { queue: deps.trainQueue, ...deps.queueBoard });
  for (const routes of [healthRoutes, modelRoutes, taskRoutes, datasetRoutes, jobRoutes, jobEventRoutes, promptRoutes, evaluationRoutes, uiRoutes]) await app.register(routes, { deps });
});

/** The HTTP API without a listening socket, so tests can `inject` requests. */
export async function buildApp(logger: FastifyBaseLogger, deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    // Bodies are validated as sent, query strings and paths with coercion (see validators.ts).
    schemaController: { compilersFactory: { buildValidator: validatorPerHttpPart } },
    // What Fastify and Node refuse before a route runs still answers in the error body.
    frameworkErrors: answerFrameworkError,
    // One line per request, when it is answered (plugins/request-metrics.ts), not one as it comes and one as it goes.
    logController: new LogController({ disableRequestLogging: true }),
    clientErrorHandler: answerClientError,
  });
  await app.register(api, { deps });
  return app;
}
