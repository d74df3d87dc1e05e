/**
 * A fuzz of the whole API, generated from openapi.yaml (test/helpers/openapi-arbitraries.ts):
 * valid and hostile requests for every operation, sent to a real test service. Every answer must
 * come from the app in its documented shape: no 5xx, every error body `{error: {code, message}}`,
 * each status and body the one the spec declares for the operation, no 2xx without a valid key,
 * and no request left unanswered.
 *
 * LOPT_FUZZ_RUNS sets the number of requests (default 1500; CI runs the default), LOPT_FUZZ_SEED
 * the seed (printed, so a failing run can be replayed); LOPT_FUZZ_LOG names a file to write every
 * request and its answer to, one JSON line each.
 */
import assert, { AssertionError } from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { createTar } from 'nanotar';
import { encodePeftAdapter } from '../../src/engine/peft-adapter.js';
import { fuzzRequests, spec, type FuzzContext, type FuzzRequest } from '../helpers/openapi-arbitraries.js';
import { assertMatchesSpec } from '../helpers/openapi-responses.js';
import { startTestService, type TestService } from '../helpers/service.js';

const RUNS = Number(process.env.LOPT_FUZZ_RUNS ?? 1500);
const SEED = Number(process.env.LOPT_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Longer than any honest answer takes here (an inference batch on gpt2-mini takes well under a second). */
const REQUEST_TIMEOUT_MS = 15_000;
const CONCURRENCY = 4;
const LOG = process.env.LOPT_FUZZ_LOG;

const isErrorBody = new Ajv2020({ strict: false }).compile(spec.components.schemas.Error!);

let service: TestService;
let context: FuzzContext;

const SST2_LIKE = ['{"text":"a fine film","label":"1"}', '{"text":"a dull mess","label":"0"}', '{"text":"great fun","label":"1"}'].join('\n');
const QA = ['{"question":"Capital of France?","target":" Paris"}', '{"question":"Capital of Italy?","target":" Rome"}'].join('\n');
const CLASSIFY = { kind: 'classification', template: '{text} It was', labelWords: { '0': ' terrible', '1': ' great' } };
const TEXT_TO_TEXT = { kind: 'text-to-text', template: 'Q: {question} A:', maxTargetTokens: 4 };

async function upload(key: string, content: string): Promise<string> {
  const response = await service.app.inject({ method: 'POST', url: '/v1/datasets?name=fuzz', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' }, payload: content });
  assert.equal(response.statusCode, 201, response.body);
  return response.json().id;
}

async function submit(key: string, body: object): Promise<string> {
  const response = await service.app.inject({ method: 'POST', url: '/v1/jobs', headers: { authorization: `Bearer ${key}` }, payload: body });
  assert.equal(response.statusCode, 202, response.body);
  return response.json().id;
}

before(async () => {
  service = await startTestService();
  const tenant = await service.deps.store.tenants.createWithKey('fuzz', 'fuzz');
  const other = await service.deps.store.tenants.createWithKey('other', 'fuzz');
  const classified = await upload(tenant.secret, SST2_LIKE);
  const qa = await upload(tenant.secret, QA);
  const othersDataset = await upload(other.secret, SST2_LIKE);
  const classifyJob = { model: 'gpt2-mini', datasetId: classified, task: CLASSIFY, method: 'pt', n: 4, hyperparameters: { maxSteps: 1 } };
  const generateJob = { model: 'gpt2-mini', datasetId: qa, task: TEXT_TO_TEXT, method: 'lopt1', n: 4, r: 2, hyperparameters: { maxSteps: 1 } };
  const inlineJob = { model: 'gpt2-mini', examples: [{ text: 'ok', label: '1' }, { text: 'bad', label: '0' }], task: 'sst2', method: 'lopt2', n: 2, r: 1 };
  const jobs = [await submit(tenant.secret, classifyJob), await submit(tenant.secret, generateJob)];
  const othersJob = await submit(other.secret, { ...classifyJob, datasetId: othersDataset });

  // Prompts as a worker would store them (no worker runs here), so predict and generate reach the inference thread.
  const prompt = (jobId: string, task: object) => service.storePrompt(tenant.secret, { task, jobId });
  const prompts = [(await prompt(jobs[0]!, CLASSIFY)).id, (await prompt(jobs[1]!, TEXT_TO_TEXT)).id];

  context = {
    keys: { valid: tenant.secret, otherTenant: other.secret },
    ids: { datasets: [classified, qa, othersDataset], jobs: [...jobs, othersJob], prompts },
    validBodies: {
      'POST /v1/jobs': [classifyJob, generateJob, inlineJob],
      'POST /v1/prompts': [{ model: 'gpt2-mini', format: 'peft', task: 'sst2', file: adapterTar(service.deps.models.get('gpt2-mini').dims.hiddenSize) }],
      'POST /v1/prompts/{id}/predict': [{ texts: ['a fine film'] }, { inputs: [{ text: 'dull' }, { text: 'fun' }] }],
      'POST /v1/prompts/{id}/generate': [{ texts: ['Capital of Spain?'], maxNewTokens: 2 }, { inputs: [{ question: 'Capital of Peru?' }] }],
    },
    rawBodies: { 'POST /v1/datasets': [SST2_LIKE, QA, 'text,label\na fine film,1\na dull mess,0\n', 'text\tlabel\nfun\t1\n'] },
  };
});
after(() => service.close());

/** A PEFT adapter of two prompt rows for a model of width d, as the base64 tar POST /v1/prompts takes. */
function adapterTar(d: number): string {
  const X = { shape: [2, d], data: Float32Array.from({ length: 2 * d }, (_, i) => Math.sin(i) * 0.02) };
  const files = encodePeftAdapter(X, { id: 'gpt2-mini', stack: 'decoder', hiddenSize: d, numHeads: null, numLayers: null }, { kind: 'random' });
  return Buffer.from(createTar([...files].map(([name, data]) => ({ name, data })))).toString('base64');
}

/** What can be wrong with an answer (`unsendable`: inject refused to send the request at all). */
const KINDS = ['5xx', 'off-shape', 'off-spec', 'auth-bypass', 'hang', 'unsendable'] as const;

interface Finding {
  request: FuzzRequest;
  status: number | null;
  body: string;
  why: (typeof KINDS)[number];
}

const timeout = (ms: number) => new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
const brief = (request: FuzzRequest) => {
  const payload = request.payload === undefined ? '' : ` ${JSON.stringify(String(request.payload).slice(0, 160))}`;
  return `${request.method} ${request.url.slice(0, 160)} [key: ${request.keyKind}${request.headers['content-type'] !== undefined ? `, type: ${request.headers['content-type']}` : ''}]${payload}`;
};

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Sends one request; its status and what is wrong with the answer (nothing, when it is what the spec promises). */
async function check(request: FuzzRequest): Promise<{ status: number | null; findings: Finding[] }> {
  const { method, url, headers, payload } = request;
  let answer;
  // An event stream of a job that has not ended stays open by design: it is answered once its head
  // is, and then closed by this client (its body is read only when it is an error).
  const streaming = /[?&]stream=true(&|$)/.test(url) || String(headers.accept ?? '').includes('text/event-stream');
  const closing = new AbortController();
  try {
    const sent = service.app.inject({ method: method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}), ...(streaming ? { payloadAsStream: true, signal: closing.signal } : {}) });
    answer = await Promise.race([sent, timeout(REQUEST_TIMEOUT_MS)]);
  } catch (err) {
    return { status: null, findings: [{ request, status: null, body: String(err), why: 'unsendable' }] };
  }
  if (answer === 'timeout') return { status: null, findings: [{ request, status: null, body: '', why: 'hang' }] };
  const { statusCode: status } = answer;
  let body: string;
  if (!streaming) body = answer.body;
  else if (String(answer.headers['content-type'] ?? '').startsWith('text/event-stream')) {
    closing.abort();
    body = '';
  } else body = await streamText(answer.stream());
  if (LOG) appendFileSync(LOG, `${JSON.stringify({ ...request, payload: String(payload ?? '').slice(0, 2000), status, body: body.slice(0, 500) })}\n`);
  const findings: Finding[] = [];
  const note = (why: Finding['why'], detail = body) => findings.push({ request, status, body: detail.slice(0, 300), why });
  let json: unknown;
  const isJson = String(answer.headers['content-type'] ?? '').startsWith('application/json');
  try {
    json = isJson ? JSON.parse(body) : undefined;
  } catch {
    json = undefined;
  }
  if (status >= 500) note('5xx');
  if (status >= 400 && !isErrorBody(json)) note('off-shape');
  const keyless = request.keyKind === 'none' || request.keyKind === 'unknown' || request.keyKind === 'malformed';
  if (keyless && status < 400 && request.operation.split(' ')[1]!.startsWith('/v1/')) note('auth-bypass');
  if (!request.mangled && isJson) {
    try {
      assertMatchesSpec(method, request.operation.split(' ')[1]!, status, json);
    } catch (err) {
      if (!(err instanceof AssertionError)) throw err;
      note('off-spec', `${err.message.split('\n').slice(0, 3).join(' ')} | ${body}`);
    }
  }
  return { status, findings };
}

test('every generated request is answered by the app, in the documented shape, without 5xx', { timeout: 10 * 60_000 }, async (t) => {
  const requests = fc.sample(fuzzRequests(context), { numRuns: RUNS, seed: SEED });
  if (LOG) writeFileSync(LOG, '');
  const findings: Finding[] = [];
  const statuses = new Map<string, Map<number | null, number>>();
  const started = Date.now();
  for (let i = 0; i < requests.length; i += CONCURRENCY) {
    const batch = requests.slice(i, i + CONCURRENCY);
    const answers = await Promise.all(batch.map(check));
    answers.forEach(({ status, findings: found }, j) => {
      const byStatus = statuses.get(batch[j]!.operation) ?? new Map<number | null, number>();
      statuses.set(batch[j]!.operation, byStatus.set(status, (byStatus.get(status) ?? 0) + 1));
      findings.push(...found);
    });
  }
  const elapsed = (Date.now() - started) / 1000;

  const count = (why: Finding['why']) => findings.filter((f) => f.why === why).length;
  const kinds = (why: Finding['why']) => new Set(findings.filter((f) => f.why === why).map((f) => `${f.status} ${f.request.operation}`)).size;
  t.diagnostic(`fuzz: seed ${SEED}, ${requests.length} requests in ${elapsed.toFixed(1)} s`);
  for (const why of KINDS) t.diagnostic(`fuzz: ${why}: ${count(why)} (${kinds(why)} status × operation kinds)`);
  for (const [operation, byStatus] of [...statuses].sort()) {
    t.diagnostic(`fuzz: ${operation}: ${[...byStatus].sort(([a], [b]) => (a ?? 0) - (b ?? 0)).map(([s, n]) => `${s ?? 'none'}×${n}`).join(' ')}`);
  }
  const examples = new Map<string, Finding>();
  for (const f of findings) examples.set(`${f.why} ${f.status} ${f.request.operation} ${f.body.slice(0, 60)}`, f);
  for (const [, f] of [...examples].slice(0, 40)) t.diagnostic(`  ${f.why} ${f.status}: ${brief(f.request)} → ${f.body.slice(0, 200)}`);

  assert.deepEqual(Object.fromEntries(KINDS.map((why) => [why, count(why)])), Object.fromEntries(KINDS.map((why) => [why, 0])));
});
