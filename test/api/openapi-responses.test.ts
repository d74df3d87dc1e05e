import assert, { AssertionError } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { assertMatchesSpec } from '../helpers/openapi-responses.js';

const job = {
  id: '0b0e2a4c-6f7d-4f1e-9a55-2a3b5c7d9e01',
  kind: 'train',
  status: 'queued',
  model: 'gpt2-mini',
  datasetId: '1b0e2a4c-6f7d-4f1e-9a55-2a3b5c7d9e01',
  validationDatasetId: null,
  spec: { task: { kind: 'classification', template: '{text} It was', labelWords: { 0: ' bad', 1: ' good' } }, prompt: { method: 'pt', n: 20, seed: 0 }, training: { batchSize: 16 }, validationFraction: 0.1 },
  trainableParameters: 5120,
  progress: null,
  bestMetrics: null,
  error: null,
  promptId: null,
  result: null,
  createdAt: '2026-11-27T04:20:48.831Z',
  startedAt: null,
  finishedAt: null,
};

test('assertMatchesSpec accepts bodies the spec declares', () => {
  assertMatchesSpec('GET', '/v1/jobs/{id}', 404, { error: { code: 'NOT_FOUND', message: 'no job x' } });
  assertMatchesSpec('post', '/v1/datasets', 413, { error: { code: 'FST_ERR_CTP_BODY_TOO_LARGE', message: 'Request body is too large', details: [1] } });
  assertMatchesSpec('GET', '/v1/jobs/{id}', 200, job);
});

test('assertMatchesSpec rejects other bodies, listing what is wrong', () => {
  assert.throws(() => assertMatchesSpec('GET', '/v1/jobs/{id}', 404, { error: { code: 404 } }), (err: unknown) => {
    assert.ok(err instanceof AssertionError);
    assert.match(err.message, /\/error\/code must be string/);
    assert.match(err.message, /must have required property 'message'/);
    return true;
  });
  assert.throws(() => assertMatchesSpec('GET', '/v1/jobs/{id}', 200, { ...job, createdAt: 'yesterday' }), /\/createdAt must match format "date-time"/);
  assert.throws(() => assertMatchesSpec('GET', '/v1/jobs/{id}', 200, { ...job, status: 'done' }), /\/status must be equal to one of the allowed values/);
});

test('assertMatchesSpec refuses responses the spec does not declare', () => {
  assert.throws(() => assertMatchesSpec('GET', '/healthz', 500, {}), /declares no 500 response for GET \/healthz/);
  assert.throws(() => assertMatchesSpec('PUT', '/v1/jobs/{id}', 200, {}), /no operation PUT \/v1\/jobs\/\{id\}/);
});

test('every JSON response in openapi.yaml compiles', () => {
  const spec = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, { responses: object }>> };
  for (const [path, operations] of Object.entries(spec.paths)) {
    for (const [method, { responses }] of Object.entries(operations)) {
      for (const status of Object.keys(responses)) {
        try {
          assertMatchesSpec(method, path, Number(status), Symbol('matches nothing'));
        } catch (err) {
          assert.ok(err instanceof AssertionError, `${method} ${path} ${status}: ${(err as Error).message}`);
        }
      }
    }
  }
});
