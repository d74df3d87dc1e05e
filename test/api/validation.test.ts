import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestService, TINY_SENTIMENT_JSONL, tinySentimentJob, type TestService } from '../helpers/service.js';

let service: TestService;
let key: string;
let otherKey: string;
let datasetId: string;

const validJob = () => tinySentimentJob(datasetId);

async function call(method: 'GET' | 'POST', url: string, options: { key?: string | null; body?: unknown; headers?: Record<string, string>; payload?: string } = {}) {
  const apiKey = options.key === undefined ? key : options.key;
  return service.app.inject({
    method,
    url,
    headers: { ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}), ...options.headers },
    ...(options.body !== undefined ? { payload: options.body as object } : options.payload !== undefined ? { payload: options.payload } : {}),
  });
}

function assertError(response: Awaited<ReturnType<typeof call>>, status: number, code: string | RegExp, message?: RegExp) {
  assert.equal(response.statusCode, status, response.body);
  const { error } = response.json() as { error: { code: string; message: string } };
  if (typeof code === 'string') assert.equal(error.code, code);
  else assert.match(error.code, code);
  if (message) assert.match(error.message, message);
}

before(async () => {
  service = await startTestService({ LOPT_MAX_UPLOAD_BYTES: '2048' });
  key = await service.newKey('acme');
  otherKey = await service.newKey('globex');
  const upload = await call('POST', '/v1/datasets?name=tiny', { payload: TINY_SENTIMENT_JSONL, headers: { 'content-type': 'application/x-ndjson' } });
  assert.equal(upload.statusCode, 201, upload.body);
  datasetId = upload.json().id;
});
after(() => service.close());

test('requests without a valid key are refused with 401', async () => {
  assertError(await call('GET', '/v1/models', { key: null }), 401, 'UNAUTHENTICATED', /Authorization: Bearer/);
  assertError(await call('GET', '/v1/models', { key: 'lopt_not-a-key' }), 401, 'UNAUTHENTICATED', /unknown to this deployment, or revoked/);
});

test('GET /v1/models lists the configured models', async () => {
  const response = await call('GET', '/v1/models');
  assert.equal(response.statusCode, 200);
  assert.deepEqual(response.json(), { items: [{ id: 'gpt2-mini', modelType: 'gpt2', promptStack: 'decoder', vocabSize: 8192, hiddenSize: 256, maxPositions: 128, numLayers: 4, numHeads: 4 }] });
});

test('uploads: rows counted and hashed; malformed content, no format and oversized bodies refused', async () => {
  const ok = await call('GET', `/v1/datasets/${datasetId}`);
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().rowCount, 3);
  assert.match(ok.json().sha256, /^[0-9a-f]{64}$/);
  const csv = await call('POST', '/v1/datasets?columns=text=sentence,label=label', { payload: 'sentence,label\n"a, b",1\nc\n', headers: { 'content-type': 'text/csv' } });
  assertError(csv, 400, 'DATASET_INVALID', /line 3/);
  assertError(await call('POST', '/v1/datasets', { payload: '{"text":"x"}\n{oops', headers: { 'content-type': 'application/x-ndjson' } }), 400, 'DATASET_INVALID', /line 2: not valid JSON/);
  assertError(await call('POST', '/v1/datasets', { payload: 'a,b', headers: { 'content-type': 'text/plain' } }), 400, 'VALIDATION_FAILED', /say the format/);
  assertError(await call('POST', '/v1/datasets?format=jsonl', { payload: `{"text":"${'x'.repeat(3000)}"}`, headers: { 'content-type': 'text/plain' } }), 413, /BODY_TOO_LARGE/);
  assertError(await call('POST', '/v1/datasets', { payload: '<xml/>', headers: { 'content-type': 'application/xml' } }), 415, /MEDIA_TYPE/);
});

test('invalid job bodies and bad hyperparameters get 400 with the reason, never 5xx', async () => {
  const cases: Array<[unknown, string, RegExp]> = [
    [{ ...validJob(), method: 'lora' }, 'VALIDATION_FAILED', /method/],
    [{ ...validJob(), n: 0 }, 'VALIDATION_FAILED', /n/],
    [{ ...validJob(), extra: true }, 'VALIDATION_FAILED', /additional/],
    [{ ...validJob(), r: 9 }, 'BAD_ARGUMENT', /lopt1 needs an integer rank 1 ≤ r ≤ min\(n, d\) = 4, got 9/],
    [{ ...validJob(), method: 'pt' }, 'BAD_ARGUMENT', /r applies to lopt1 and lopt2 only/],
    [{ ...validJob(), method: 'pt', r: undefined, hyperparameters: { vLearningRateRatio: 3 } }, 'BAD_ARGUMENT', /vLearningRateRatio applies to lopt1 and lopt2 only/],
    [{ ...validJob(), hyperparameters: { vLearningRateRatio: 0 } }, 'VALIDATION_FAILED', /vLearningRateRatio/],
    [{ ...validJob(), hyperparameters: { batchSize: 0 } }, 'VALIDATION_FAILED', /batchSize/],
    [{ ...validJob(), hyperparameters: { learningRate: -1 } }, 'VALIDATION_FAILED', /learningRate/],
    [{ ...validJob(), n: 200 }, 'SEQUENCE_TOO_LONG', /200 prompt rows leave no room/],
    [{ ...validJob(), task: { kind: 'classification', template: 'no fields', labelWords: { '0': ' a', '1': ' b' } } }, 'BAD_ARGUMENT', /template must name at least one \{field\}/],
    [{ ...validJob(), task: { kind: 'classification', template: '{text}', labelWords: { pos: ' good', neg: ' bad' } } }, 'DATASET_INVALID', /line 1: unknown label "1" \(known: pos, neg\)/],
    [{ ...validJob(), datasetId: undefined }, 'VALIDATION_FAILED', /exactly one of datasetId and examples/],
    [{ ...validJob(), examples: [{ text: 'x', label: '1' }] }, 'VALIDATION_FAILED', /exactly one of datasetId and examples/],
  ];
  for (const [body, code, message] of cases) assertError(await call('POST', '/v1/jobs', { body }), 400, code, message);
  assertError(await call('POST', '/v1/jobs', { payload: '{"model":', headers: { 'content-type': 'application/json' } }), 400, /JSON|BODY/);
  assertError(await call('POST', '/v1/jobs', { body: { ...validJob(), model: 'gpt-5' } }), 404, 'NOT_FOUND', /no model gpt-5/);
  assertError(await call('GET', '/v1/jobs?limit=1000'), 400, 'VALIDATION_FAILED');
  assertError(await call('GET', '/v1/jobs?cursor=00000000-0000-4000-8000-000000000000'), 400, 'INVALID_CURSOR');
});

test('unknown ids, malformed ids and other tenants’ ids all answer 404', async () => {
  const submitted = await call('POST', '/v1/jobs', { body: validJob(), headers: { 'idempotency-key': 'v-1' } });
  assert.equal(submitted.statusCode, 202, submitted.body);
  const jobId = submitted.json().id;
  const again = await call('POST', '/v1/jobs', { body: validJob(), headers: { 'idempotency-key': 'v-1' } });
  assert.equal(again.statusCode, 200);
  assert.equal(again.json().id, jobId);

  for (const url of [`/v1/jobs/${jobId}`, `/v1/jobs/${jobId}/metrics`, `/v1/datasets/${datasetId}`]) {
    assertError(await call('GET', url, { key: otherKey }), 404, 'NOT_FOUND');
  }
  assertError(await call('POST', `/v1/jobs/${jobId}/cancel`, { key: otherKey }), 404, 'NOT_FOUND');
  assertError(await call('POST', '/v1/jobs', { key: otherKey, body: validJob() }), 404, 'NOT_FOUND', /no dataset/);
  for (const url of ['/v1/jobs/nope', '/v1/jobs/00000000-0000-4000-8000-000000000000', '/v1/prompts/nope', '/v1/prompts/00000000-0000-4000-8000-000000000000/weights', '/v1/datasets/123']) {
    assertError(await call('GET', url), 404, 'NOT_FOUND');
  }
  assertError(await call('POST', '/v1/prompts/00000000-0000-4000-8000-000000000000/predict', { body: { texts: ['x'] } }), 404, 'NOT_FOUND');

  // Nobody works this queue here: cancelling a queued job ends it at once.
  const cancelled = await call('POST', `/v1/jobs/${jobId}/cancel`);
  assert.equal(cancelled.statusCode, 200);
  assert.equal(cancelled.json().status, 'cancelled');
  assert.equal(cancelled.json().error.code, 'CANCELLED');
  const list = await call('GET', '/v1/jobs?status=cancelled');
  assert.deepEqual(list.json().items.map((j: { id: string }) => j.id), [jobId]);
  assert.deepEqual((await call('GET', '/v1/jobs', { key: otherKey })).json(), { items: [], nextCursor: null });
});
