import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { ApiDeps } from '../api-deps.js';
import { errorBody } from '../errors.js';
import { ErrorSchema } from '../schemas/common.js';

const GpuAdapterSchema = Type.Object(
  {
    vendor: Type.String(),
    architecture: Type.String(),
    device: Type.String(),
    description: Type.String(),
    software: Type.Boolean(),
    maxStorageBufferBindingSize: Type.Integer(),
    maxBufferSize: Type.Integer(),
  },
  { description: 'The GPU the WebGPU backend runs on.' },
);

const ReadySchema = Type.Object({
  status: Type.Literal('ready'),
  checks: Type.Object({ postgres: Type.Literal('ok'), redis: Type.Literal('ok'), backend: Type.String({ description: 'The inference thread’s TensorFlow.js backend.' }) }),
  adapter: Type.Optional(GpuAdapterSchema),
});

/** Liveness (the process answers) and readiness (PostgreSQL, Redis and the inference backend are up). */
export async function healthRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }): Promise<void> {
  app.get('/healthz', { schema: { tags: ['health'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', { schema: { tags: ['health'], response: { 200: ReadySchema, 503: ErrorSchema } } }, async (_request, reply) => {
    const checks = await Promise.allSettled([
      deps.pingDatabase(),
      deps.redis.ping(),
      Promise.race([deps.inference.ready(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('still starting')), 2000).unref())]),
    ]);
    const [postgres, redis, backend] = checks;
    if (postgres.status === 'fulfilled' && redis.status === 'fulfilled' && backend.status === 'fulfilled') {
      const { name, adapter, unservable } = backend.value;
      // A configured model the inference thread cannot hold is a deployment fault that requests would only meet later.
      if (Object.keys(unservable).length) {
        const ids = Object.keys(unservable).join(', ');
        const message = `not ready: the inference thread cannot load ${ids}; give the API more memory or leave them out with LOPT_INFERENCE_MODELS`;
        return reply.code(503).send(errorBody('NOT_READY', message, { models: unservable }));
      }
      return { status: 'ready' as const, checks: { postgres: 'ok' as const, redis: 'ok' as const, backend: name }, ...(adapter ? { adapter } : {}) };
    }
    const failures = Object.fromEntries(
      (['postgres', 'redis', 'backend'] as const).flatMap((name, i) => {
        const check = checks[i]!;
        return check.status === 'rejected' ? [[name, String((check.reason as Error)?.message ?? check.reason)]] : [];
      }),
    );
    return reply.code(503).send(errorBody('NOT_READY', `not ready: ${Object.keys(failures).join(', ')}`, failures));
  });
}
