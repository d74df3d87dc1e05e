/**
 * Input is taken as sent: JSON bodies are not coerced, the keys of maps are checked, strings
 * PostgreSQL cannot store are refused wherever they come in, and numbers in query strings are
 * finite and bounded. Each is a 400 VALIDATION_FAILED that names the field, never a 5xx.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Fastify from 'fastify';
import type { LightMyRequestResponse } from 'fastify';
import { api } from '../../src/api/app.js';
import { startTestService, tinySentimentJob, type TestService } from '../helpers/service.js';

let service: TestService;
let key: string;
let datasetId: string;

const job = (overrides: object = {}) => tinySentimentJob(datasetId, overrides);

const call = (method: 'GET' | 'POST', url: string, body?: unknown, headers: Record<string, string> = {}) =>
  service.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });

function assertRefused(response: LightMyRequestResponse, field: RegExp, what: string) {
  assert.equal(response.statusCode, 400, `${what}: ${response.body}`);
  const { error } = response.json() as { error: { code: string; message: string } };
  assert.equal(error.code, 'VALIDATION_FAILED', what);
  assert.match(error.message, field, what);
}

before(async () => {
  service = await startTestService();
  key = await service.newKey('strict');
  datasetId = await service.uploadTinyDataset(key);
});
after(() => service.close());

test('JSON bodies are not coerced: a number as text, a boolean as a number, a boolean as a list of texts are refused', async () => {
  assertRefused(await call('POST', '/v1/jobs', job({ n: '5' })), /body\/n must be integer/, 'n: "5"');
  assertRefused(await call('POST', '/v1/jobs', job({ r: true })), /body\/r must be integer/, 'r: true');
  assertRefused(await call('POST', '/v1/jobs', job({ seed: null })), /body\/seed must be integer/, 'seed: null');
  assertRefused(await call('POST', '/v1/jobs', job({ hyperparameters: { keepBest: 'true' } })), /keepBest must be boolean/, 'keepBest: "true"');
  assertRefused(await call('POST', '/v1/jobs', job({ examples: undefined, datasetId: 5 })), /datasetId must be string/, 'datasetId: 5');
  assertRefused(await call('POST', '/v1/jobs', '{"model":"gpt2-mini","task":"sst2","method":"pt","n":1e400}'), /body\/n must be integer/, 'n: 1e400');
  const prompt = '/v1/prompts/00000000-0000-4000-8000-000000000000/predict';
  assertRefused(await call('POST', prompt, { texts: true }), /body\/texts must be array/, 'texts: true');
  assertRefused(await call('POST', prompt, { texts: [5] }), /body\/texts\/0 must be string/, 'texts: [5]');
  assertRefused(await call('POST', prompt, { inputs: [{ text: 1 }] }), /body\/inputs\/0\/text must be string/, 'inputs: [{text: 1}]');
  // A valid body still passes, with its defaults filled in.
  const accepted = await call('POST', '/v1/jobs', job());
  assert.equal(accepted.statusCode, 202, accepted.body);
  assert.equal(accepted.json().spec.training.batchSize, 16);
});

test('query strings and paths are still read as the numbers their schemas ask for', async () => {
  assert.equal((await call('GET', '/v1/jobs?limit=2')).statusCode, 200);
  const page = await call('GET', '/v1/jobs?limit=1');
  assert.equal(page.json().items.length, 1);
});

test('the keys of maps are checked: label words, examples and inputs', async () => {
  const task = (labelWords: object) => ({ kind: 'classification', template: '{text} It was', labelWords });
  assertRefused(await call('POST', '/v1/jobs', job({ task: task({ '0': ' a', ['1'.repeat(201)]: ' b' }) })), /labelWords must NOT have more than 200 characters, body\/task\/labelWords property name must be valid/, 'a label of 201 characters');
  // A key with a line break escapes TypeBox's `^.*$` pattern: its value was not checked at all.
  assertRefused(await call('POST', '/v1/jobs', job({ task: task({ '0': ' a', 'x\ny': 5 }) })), /labelWords\/x\ny must be string/, 'a label with a line break');
  assertRefused(await call('POST', '/v1/jobs', job({ datasetId: undefined, examples: [{ ['f'.repeat(65)]: 'x' }] })), /examples\/0 must NOT have more than 64 characters, body\/examples\/0 property name must be valid/, 'an example field of 65 characters');
  const prompt = '/v1/prompts/00000000-0000-4000-8000-000000000000/predict';
  assertRefused(await call('POST', prompt, { inputs: [{ ['f'.repeat(65)]: 'x' }] }), /inputs\/0 must NOT have more than 64 characters, body\/inputs\/0 property name must be valid/, 'an input field of 65 characters');
  assertRefused(await call('POST', prompt, { inputs: [{ 'a\nb': 7 }] }), /inputs\/0\/a\nb must be string/, 'an input with a line break in its key');
});

test('strings PostgreSQL cannot store (NUL, lone surrogates) are refused wherever they come in, naming the field', async () => {
  const NUL = 'a\u0000b';
  const LONE = 'a\ud800b';
  const cases: Array<[string, () => Promise<LightMyRequestResponse>, RegExp]> = [
    ['initText with a NUL', () => call('POST', '/v1/jobs', job({ init: 'text', initText: NUL })), /^body\/initText holds a NUL character/],
    ['template with a lone surrogate', () => call('POST', '/v1/jobs', job({ task: { kind: 'classification', template: `{text} ${LONE}`, labelWords: { '0': ' a', '1': ' b' } } })), /^body\/task\/template holds a lone surrogate \(U\+D800\)/],
    ['a label word with a NUL', () => call('POST', '/v1/jobs', job({ task: { kind: 'classification', template: '{text}', labelWords: { '0': NUL, '1': ' b' } } })), /^body\/task\/labelWords\/0 holds a NUL/],
    ['a label with a NUL', () => call('POST', '/v1/jobs', job({ task: { kind: 'classification', template: '{text}', labelWords: { '0': ' a', '1': ' b', [NUL]: ' c' } } })), /^body\/task\/labelWords has a key holding a NUL/],
    ['an example with a lone surrogate', () => call('POST', '/v1/jobs', job({ datasetId: undefined, examples: [{ text: 'ok', label: '1' }, { text: LONE, label: '0' }] })), /^body\/examples\/1\/text holds a lone surrogate/],
    ['an example field with a NUL', () => call('POST', '/v1/jobs', job({ datasetId: undefined, examples: [{ [NUL]: 'x' }] })), /^body\/examples\/0 has a key holding a NUL/],
    ['an Idempotency-Key with a NUL', () => call('POST', '/v1/jobs', job(), { 'idempotency-key': NUL }), /^headers\/idempotency-key holds a NUL/],
    ['a dataset name with a NUL', () => service.app.inject({ method: 'POST', url: '/v1/datasets?name=a%00b', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' }, payload: '{"text":"x","label":"1"}\n' }), /^querystring\/name holds a NUL/],
    ['a cursor with a NUL', () => call('GET', '/v1/jobs?cursor=%00'), /^querystring\/cursor holds a NUL/],
    ['an input to predict with a NUL', () => call('POST', '/v1/prompts/00000000-0000-4000-8000-000000000000/predict', { texts: [NUL] }), /^body\/texts\/0 holds a NUL/],
    ['an id with a NUL', () => call('GET', '/v1/jobs/a%00b'), /^params\/id holds a NUL/],
  ];
  for (const [what, request, field] of cases) assertRefused(await request(), field, what);
  // Their surrogate pairs (an emoji) are fine.
  const emoji = await call('POST', '/v1/jobs', job({ init: 'text', initText: 'a 😀 film' }));
  assert.equal(emoji.statusCode, 202, emoji.body);
});

test('empty or null dataset ids are refused, not taken for "no dataset"', async () => {
  assertRefused(await call('POST', '/v1/jobs', job({ datasetId: '' })), /datasetId must NOT have fewer than 1 characters/, 'datasetId: ""');
  assertRefused(await call('POST', '/v1/jobs', job({ datasetId: null })), /datasetId must be string/, 'datasetId: null');
  assertRefused(await call('POST', '/v1/jobs', job({ validationDatasetId: '' })), /validationDatasetId must NOT have fewer than 1 characters/, 'validationDatasetId: ""');
  assertRefused(await call('POST', '/v1/jobs', job({ validationDatasetId: null })), /validationDatasetId must be string/, 'validationDatasetId: null');
});

test('numbers in query strings are finite and bounded', async () => {
  const submitted = await call('POST', '/v1/jobs', job());
  const metrics = `/v1/jobs/${submitted.json().id}/metrics`;
  for (const url of ['/v1/jobs?limit=Infinity', '/v1/jobs?limit=-Infinity', '/v1/jobs?limit=1e400', '/v1/jobs?limit=NaN', '/v1/jobs?limit=1.5', '/v1/jobs?limit=0', `${metrics}?limit=Infinity`, `${metrics}?limit=-Infinity`, `${metrics}?afterStep=1e400`, `${metrics}?afterStep=Infinity`, `${metrics}?afterStep=2147483648`, `${metrics}?afterStep=-1`]) {
    assertRefused(await call('GET', url), /querystring\/(limit|afterStep) must be/, url);
  }
  assert.equal((await call('GET', `${metrics}?afterStep=2147483647&limit=10000`)).statusCode, 200);
});

test('every number a route reads from a query string or a path has a minimum and a maximum', async (t) => {
  // Ajv's coercion lets a non-finite number past a schema without bounds (see src/api/validators.ts).
  const unbounded: string[] = [];
  const app = Fastify();
  t.after(() => app.close());
  app.addHook('onRoute', ({ method, url, schema }) => {
    for (const part of ['querystring', 'params', 'headers'] as const) {
      const properties = (schema?.[part] as { properties?: Record<string, { type?: string; minimum?: number; maximum?: number }> } | undefined)?.properties ?? {};
      for (const [name, property] of Object.entries(properties)) {
        if ((property.type === 'integer' || property.type === 'number') && (property.minimum === undefined || property.maximum === undefined)) unbounded.push(`${method} ${url} ${part}.${name}`);
      }
    }
  });
  await app.register(api, { deps: service.deps });
  await app.ready();
  assert.deepEqual(unbounded, []);
});
