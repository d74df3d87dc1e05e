/**
 * Auth is decided by the route the router matched, not by the URL as sent: encoded, re-cased,
 * doubled or trailing-slashed paths either reach a route (and need its key) or no route (404),
 * and every operation openapi.yaml secures answers 401 without a key.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { OPENAPI_PATH } from '../../src/api/app.js';
import { startTestService, type TestService } from '../helpers/service.js';

let service: TestService;
let key: string;

before(async () => {
  service = await startTestService();
  key = await service.newKey('auth');
});
after(() => service.close());

const inject = (method: 'GET' | 'POST' | 'HEAD', url: string, headers: Record<string, string> = {}) => service.app.inject({ method, url, headers });

test('every operation the spec secures answers 401 without a key; the open ones answer without one', async () => {
  const spec = parse(readFileSync(OPENAPI_PATH, 'utf8')) as { security: unknown[]; paths: Record<string, Record<string, { security?: unknown[] }>> };
  let secured = 0;
  for (const [path, operations] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const url = path.replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000000');
      const response = await inject(method.toUpperCase() as 'GET', url);
      const needsKey = (operation.security ?? spec.security).length > 0;
      if (needsKey) secured++;
      if (needsKey) assert.equal(response.statusCode, 401, `${method} ${path}: ${response.body}`);
      else assert.notEqual(response.statusCode, 401, `${method} ${path} is open in the spec`);
    }
  }
  assert.ok(secured >= 13, `the spec secures ${secured} operations`);
});

test('an encoded path reaches its route, and that route still needs its key', async () => {
  for (const url of ['/%761/models', '/v%31/models', '/%76%31/%6dodels', '/v1/%6Dodels', '/%761/jobs', '/v%31/tasks']) {
    const without = await inject('GET', url);
    assert.equal(without.statusCode, 401, `${url} without a key: ${without.body}`);
    assert.equal(without.json().error.code, 'UNAUTHENTICATED');
    const withKey = await inject('GET', url, { authorization: `Bearer ${key}` });
    assert.equal(withKey.statusCode, 200, `${url} with a key: ${withKey.body}`);
  }
  assert.equal((await inject('HEAD', '/%761/models')).statusCode, 401);
  assert.equal((await inject('POST', '/%761/jobs/00000000-0000-4000-8000-000000000000/cancel')).statusCode, 401);
});

test('paths that match no route answer 404 in the error body, with or without a key, and reveal nothing else', async () => {
  // (Dot segments are resolved by inject itself, as by most clients: transport-errors.test.ts sends them raw.)
  for (const url of ['/V1/models', '/v1/Models', '/v1/models/', '//v1/models', '/v1//models', '/v1/models%2F', '/v1%2Fmodels', '/v1/models;x', '/v1/nope']) {
    for (const headers of [{}, { authorization: `Bearer ${key}` }, { authorization: 'Bearer lopt_unknown' }] as Array<Record<string, string>>) {
      const response = await inject('GET', url, headers);
      assert.equal(response.statusCode, 404, `${url} ${JSON.stringify(headers)}: ${response.body}`);
      assert.equal(response.json().error.code, 'NOT_FOUND');
      assert.match(response.json().error.message, /^no route GET /);
    }
  }
});

test('the Bearer scheme is case-insensitive; anything else is refused', async () => {
  assert.equal((await inject('GET', '/v1/models', { authorization: `bearer ${key}` })).statusCode, 200);
  assert.equal((await inject('GET', '/v1/models', { authorization: `BEARER  ${key} ` })).statusCode, 200);
  for (const authorization of [key, `Basic ${key}`, 'Bearer', 'Bearer ', `Bearer ${key} extra`, `Bearer${key}`]) {
    const response = await inject('GET', '/v1/models', { authorization });
    assert.equal(response.statusCode, 401, `${authorization}: ${response.body}`);
    assert.equal(response.json().error.code, 'UNAUTHENTICATED');
  }
});
