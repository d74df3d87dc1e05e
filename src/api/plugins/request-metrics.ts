/**
 * Counts and times every answered request into the API's metrics, by method, route pattern (so
 * ids do not multiply the series; a request for no route counts as `unmatched`) and status, and
 * logs it as one line (method, URL, status, time; at warn for a 5xx); and,
 * with LOPT_METRICS_ON_API_PORT, answers GET /metrics on the API's own port without a key.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ApiMetrics } from '../../metrics/api-metrics.js';

export const requestMetrics = fp(
  async (app: FastifyInstance, { metrics, serve }: { metrics: ApiMetrics; serve: boolean }) => {
    app.addHook('onResponse', async (request, reply) => {
      metrics.observeRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
      const line = { method: request.method, url: request.url.slice(0, 200), statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) };
      if (reply.statusCode >= 500) request.log.warn(line, 'request');
      else request.log.info(line, 'request');
    });
    if (serve) {
      app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => reply.type(metrics.contentType).send(await metrics.scrape()));
    }
  },
  { name: 'request-metrics' },
);
