import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { OPENAPI_PATH } from '../../src/api/app.js';
import { startTestService } from '../helpers/service.js';

const spec = parse(readFileSync(OPENAPI_PATH, 'utf8')) as { openapi: string; paths: Record<string, Record<string, unknown>> };

test('openapi.yaml and the app name the same routes, and the spec is served', async () => {
  assert.match(spec.openapi, /^3\.1\./);
  const service = await startTestService();
  const appRoutes = service.app
    .printRoutes({ commonPrefix: false, includeMeta: false })
    .split('\n')
    .flatMap((line) => {
      const match = /([/\w:.{}-]+) \(([A-Z, ]+)\)/.exec(line);
      return match ? match[2]!.split(', ').filter((m) => m !== 'HEAD').map((m) => `${m} ${match[1]!.replace(/:(\w+)/g, '{$1}')}`) : [];
    })
    .filter((route) => / \/(v1|healthz|readyz)/.test(route));
  const specRoutes = Object.entries(spec.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
  assert.deepEqual([...new Set(appRoutes)].sort(), specRoutes.filter((r) => / \/(v1|healthz|readyz)/.test(r)).sort());
  const served = await service.app.inject({ method: 'GET', url: '/openapi.yaml' });
  assert.equal(served.statusCode, 200);
  assert.equal(parse(served.body).openapi, spec.openapi);
  const docs = await service.app.inject({ method: 'GET', url: '/docs/' });
  assert.equal(docs.statusCode, 200);
  assert.match(docs.body, /swagger/i);
  await service.close();
});
