import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import Fastify from 'fastify';
import { parse } from 'yaml';
import { api } from '../../src/api/app.js';

const spec = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
};

test('openapi.yaml and the app name the same routes', async () => {
  assert.match(spec.openapi, /^3\.1\./);
  const appRoutes: string[] = [];
  const app = Fastify();
  app.addHook('onRoute', ({ method, url }) => {
    for (const m of [method].flat()) if (m !== 'HEAD') appRoutes.push(`${m} ${url.replace(/:(\w+)/g, '{$1}')}`);
  });
  await app.register(api);
  await app.ready();
  const specRoutes = Object.entries(spec.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
  assert.deepEqual(appRoutes.sort(), specRoutes.sort());
  await app.close();
});
