import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import Fastify from 'fastify';
import { parse } from 'yaml';
import { api, OPENAPI_PATH } from '../../src/api/app.js';
import { startTestService } from '../helpers/service.js';

const spec = parse(readFileSync(OPENAPI_PATH, 'utf8')) as { openapi: string; paths: Record<string, Record<string, unknown>> };

test('openapi.yaml and the app name the same routes, and the spec and docs are served', async (t) => {
  assert.match(spec.openapi, /^3\.1\./);
  const service = await startTestService();
  t.after(() => service.close());
  const routes: string[] = [];
  const app = Fastify();
  app.addHook('onRoute', ({ method, url, schema }) => {
    if ((schema as { hide?: boolean } | undefined)?.hide || url.startsWith('/docs')) return;
    for (const m of [method].flat()) if (m !== 'HEAD') routes.push(`${m} ${url.replace(/:(\w+)/g, '{$1}')}`);
  });
  await app.register(api, { deps: service.deps });
  t.after(() => app.close());
  await app.ready();
  const specRoutes = Object.entries(spec.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
  assert.deepEqual(routes.sort(), specRoutes.sort());

  const served = await app.inject({ method: 'GET', url: '/openapi.yaml' });
  assert.equal(served.statusCode, 200);
  assert.deepEqual(parse(served.body), spec);
  const docs = await app.inject({ method: 'GET', url: '/docs/' });
  assert.equal(docs.statusCode, 200);
  assert.match(docs.body, /swagger/i);
});
