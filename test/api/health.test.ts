import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadNativeAddon } from '../../src/engine/native/native-addon.js';
import { startTestService, type TestService } from '../helpers/service.js';

let service: TestService;
before(async () => {
  service = await startTestService();
});
after(() => service.close());

test('GET /healthz answers while the process is up', async () => {
  const response = await service.app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(response.statusCode, 200);
  assert.deepEqual(response.json(), { status: 'ok' });
});

test('GET /readyz checks PostgreSQL, Redis and the inference backend', async () => {
  await service.deps.inference.ready(); // until then readiness is 503 "still starting", by design
  const response = await service.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(response.statusCode, 200, response.body);
  const backend = loadNativeAddon().addon ? 'wasm+openblas' : 'wasm';
  assert.deepEqual(response.json(), { status: 'ready', checks: { postgres: 'ok', redis: 'ok', backend } });
});

test('an unknown route gets the error body', async () => {
  const response = await service.app.inject({ method: 'GET', url: '/v2/nope' });
  assert.equal(response.statusCode, 404);
  assert.deepEqual(response.json(), { error: { code: 'NOT_FOUND', message: 'no route GET /v2/nope' } });
});
