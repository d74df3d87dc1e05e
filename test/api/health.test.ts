import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { initBackend } from '../../src/engine/backend.js';
import { createLogger } from '../../src/logger.js';

let app: FastifyInstance;

before(async () => {
  app = await buildApp(createLogger('silent'));
});
after(() => app.close());

test('GET /healthz answers while the process is up', async () => {
  const response = await app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(response.statusCode, 200);
  assert.deepEqual(response.json(), { status: 'ok' });
});

test('GET /readyz reports the backend once one has started', async () => {
  await initBackend('wasm');
  const response = await app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(response.statusCode, 200);
  const body = response.json();
  assert.equal(body.status, 'ready');
  assert.equal(body.backend.name, 'wasm');
  assert.match(body.backend.tfjsVersion, /^4\./);
});

test('an unknown route gets the error body', async () => {
  const response = await app.inject({ method: 'GET', url: '/v1/nope' });
  assert.equal(response.statusCode, 404);
  assert.deepEqual(response.json(), { error: { code: 'NOT_FOUND', message: 'no route GET /v1/nope' } });
});
