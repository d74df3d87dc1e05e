/**
 * Bearer API keys: every /v1 request resolves its key to a tenant, and routes see only that
 * tenant's rows (another tenant's ids answer 404, as if they did not exist).
 *
 * Whether a request needs a key is decided by the route the router matched (its registered
 * pattern), never by the URL as sent: the router decodes the URL, so `/%761/models` reaches
 * `/v1/models`. It is decided in onRequest, before any body is read, so a request without a key
 * costs no parsing; a request for no route at all is answered 404 there too, with nothing read.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { KeyCache } from '../key-cache.js';
import { ApiError } from '../api-error.js';
import { noRoute } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    tenantId: string;
  }
}

/** The routes that need a key: the versioned API (health probes, the spec and its docs are open). */
const needsApiKey = (routeUrl: string | undefined): boolean => routeUrl !== undefined && routeUrl.startsWith('/v1/');

/** `Bearer <key>`; the scheme's case does not matter (RFC 9110 §11.1). */
const BEARER = /^Bearer +(\S+) *$/i;

export const auth = fp(
  async (app: FastifyInstance, { keys }: { keys: KeyCache }) => {
    app.decorateRequest('tenantId', '');
    app.addHook('onRequest', async (request: FastifyRequest) => {
      if (request.is404) throw noRoute(request);
      if (!needsApiKey(request.routeOptions.url)) return;
      const secret = BEARER.exec(request.headers.authorization ?? '')?.[1];
      if (!secret) throw new ApiError(401, 'UNAUTHENTICATED', 'send an API key: Authorization: Bearer <key>');
      const key = await keys.ownerOf(secret);
      if (!key) throw new ApiError(401, 'UNAUTHENTICATED', "the API key is unknown to this deployment, or revoked: keys:create writes to the database of the DATABASE_URL it runs with, which must be the server's");
      request.tenantId = key.tenantId;
    });
  },
  { name: 'auth' },
);
