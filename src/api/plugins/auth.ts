/**
 * Bearer API keys: every /v1 request resolves its key to a tenant, and routes see only that
 * tenant's rows (another tenant's ids answer 404, as if they did not exist).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Store } from '../../db/store.js';
import { ApiError } from '../api-error.js';

declare module 'fastify' {
  interface FastifyRequest {
    tenantId: string;
  }
}

export const auth = fp(
  async (app: FastifyInstance, { store }: { store: Store }) => {
    app.decorateRequest('tenantId', '');
    app.addHook('onRequest', async (request: FastifyRequest) => {
      if (!request.url.startsWith('/v1/')) return;
      const header = request.headers.authorization;
      const secret = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
      if (!secret) throw new ApiError(401, 'UNAUTHENTICATED', 'send an API key: Authorization: Bearer <key>');
      const key = await store.tenants.findByApiKey(secret);
      if (!key) throw new ApiError(401, 'UNAUTHENTICATED', 'the API key is unknown or revoked');
      request.tenantId = key.tenantId;
    });
  },
  { name: 'auth' },
);
