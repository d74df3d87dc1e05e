/**
 * Outages answer 503 with Retry-After, never 500, and the API recovers by itself. The API here
 * talks to the real PostgreSQL and Redis through a TCP proxy (test/helpers/tcp-proxy.ts); stopping
 * the proxy is the server going away (connections dropped, new ones refused), starting it again
 * the server coming back. Prisma's pool and ioredis reconnect on their own.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import type { ApiDeps } from '../../src/api/api-deps.js';
import { buildApp } from '../../src/api/app.js';
import { OUTAGE_RETRY_AFTER_SECONDS } from '../../src/api/errors.js';
import { connectDatabase } from '../../src/db/prisma-client.js';
import { createStore } from '../../src/db/store.js';
import { createKeyCache } from '../../src/api/key-cache.js';
import { createPromptCache } from '../../src/api/prompt-cache.js';
import { createLogger } from '../../src/logger.js';
import { apiConnection } from '../../src/queue/redis-connections.js';
import { createTrainQueue } from '../../src/queue/train-queue.js';
import { startTestService, tinySentimentJob, type TestService } from '../helpers/service.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

let service: TestService;
let key: string;
let datasetId: string;

const JOB = () => tinySentimentJob(datasetId, { method: 'pt', r: undefined });

before(async () => {
  service = await startTestService();
  key = await service.newKey('outage');
  datasetId = await service.uploadTinyDataset(key);
});
after(() => service.close());

const call = (app: FastifyInstance, method: 'GET' | 'POST', url: string, body?: object) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body } : {}) });

function assertUnavailable(response: LightMyRequestResponse, code: 'STORE_UNAVAILABLE' | 'QUEUE_UNAVAILABLE', what: string) {
  assert.equal(response.statusCode, 503, `${what}: ${response.body}`);
  assert.equal(response.json().error.code, code, what);
  assert.equal(response.headers['retry-after'], String(OUTAGE_RETRY_AFTER_SECONDS), what);
}

/** Calls `attempt` until it answers `status`, for at most `ms`; the last answer. */
async function until(status: number, attempt: () => Promise<LightMyRequestResponse>, ms = 15_000): Promise<LightMyRequestResponse> {
  const deadline = Date.now() + ms;
  for (;;) {
    const response = await attempt();
    if (response.statusCode === status || Date.now() > deadline) return response;
    await sleep(200);
  }
}

/** An app whose PostgreSQL (or Redis) is reached through `proxy`; the rest is the test service's. */
async function appThrough(proxy: TcpProxy, server: 'postgres' | 'redis') {
  const parts: Array<() => Promise<unknown>> = [];
  let deps: ApiDeps;
  if (server === 'postgres') {
    const database = connectDatabase(proxy.via(service.env.DATABASE_URL!));
    parts.push(() => database.close());
    const store = createStore(database);
    // Its own caches, whose misses go through the proxy too.
    const keys = createKeyCache((secret) => store.tenants.findByApiKey(secret), 5000);
    const prompts = createPromptCache((tenantId, id) => store.prompts.findById(tenantId, id), 1024 * 1024);
    deps = { ...service.deps, store, keys, prompts, pingDatabase: async () => void (await database.prisma.$queryRaw`SELECT 1`) };
  } else {
    const url = proxy.via(service.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const redis = apiConnection(url);
    const queueConnection = apiConnection(url);
    const trainQueue = createTrainQueue(queueConnection, service.env.LOPT_QUEUE_PREFIX!);
    trainQueue.on('error', () => undefined); // connection errors are expected here; requests report them
    for (const connection of [redis, queueConnection]) connection.on('error', () => undefined);
    await Promise.all([redis, queueConnection].map((connection) => new Promise((resolve) => connection.once('ready', resolve))));
    parts.push(() => trainQueue.close(), async () => redis.disconnect(), async () => queueConnection.disconnect());
    deps = { ...service.deps, redis, trainQueue };
  }
  const app = await buildApp(createLogger('silent'), deps);
  await app.ready();
  return { app, close: async () => Promise.all([app.close(), ...parts.map((close) => close())]) };
}

test('PostgreSQL down: every /v1 request answers 503 STORE_UNAVAILABLE with Retry-After, and the API recovers', async (t) => {
  const proxy = await startTcpProxy(5432);
  const { app, close } = await appThrough(proxy, 'postgres');
  t.after(async () => {
    await close();
    await proxy.stop();
  });
  assert.equal((await call(app, 'GET', '/v1/models')).statusCode, 200);
  const submitted = await call(app, 'POST', '/v1/jobs', JOB());
  assert.equal(submitted.statusCode, 202, submitted.body);
  const jobId = submitted.json().id;
  const unseenKey = await service.newKey('outage, not used before');

  await proxy.stop();
  // A key checked within the cache's TTL needs no store: what needs nothing else still answers.
  assert.equal((await call(app, 'GET', '/v1/models')).statusCode, 200);
  const requests: Array<[string, () => Promise<LightMyRequestResponse>]> = [
    // For a key not seen before, the key lookup of the auth hook is the first thing to reach the store.
    ['GET /v1/models, a key not yet cached', () => app.inject({ method: 'GET', url: '/v1/models', headers: { authorization: `Bearer ${unseenKey}` } })],
    ['GET /v1/jobs', () => call(app, 'GET', '/v1/jobs')],
    ['GET /v1/jobs/{id}', () => call(app, 'GET', `/v1/jobs/${jobId}`)],
    ['POST /v1/jobs', () => call(app, 'POST', '/v1/jobs', JOB())],
    ['POST /v1/jobs/{id}/cancel', () => call(app, 'POST', `/v1/jobs/${jobId}/cancel`)],
    ['GET /v1/datasets/{id}', () => call(app, 'GET', `/v1/datasets/${datasetId}`)],
    ['POST /v1/prompts/{id}/predict', () => call(app, 'POST', `/v1/prompts/${jobId}/predict`, { texts: ['x'] })],
  ];
  for (const [what, request] of requests) assertUnavailable(await request(), 'STORE_UNAVAILABLE', what);
  const readiness = await app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(readiness.statusCode, 503);
  assert.equal(readiness.json().error.code, 'NOT_READY');
  assert.ok(readiness.json().error.details.postgres, readiness.body);

  await proxy.start();
  const back = await until(200, () => call(app, 'GET', `/v1/jobs/${jobId}`));
  assert.equal(back.statusCode, 200, `after PostgreSQL came back: ${back.body}`);
  assert.equal((await call(app, 'POST', '/v1/jobs', JOB())).statusCode, 202);
});

test('Redis down: submit and cancel answer 503 QUEUE_UNAVAILABLE with Retry-After, the rest works, and both recover', async (t) => {
  const proxy = await startTcpProxy(6379);
  const { app, close } = await appThrough(proxy, 'redis');
  t.after(async () => {
    await close();
    await proxy.stop();
  });
  const queued = await call(app, 'POST', '/v1/jobs', JOB());
  assert.equal(queued.statusCode, 202, queued.body);
  const running = await call(app, 'POST', '/v1/jobs', JOB());
  assert.equal(running.statusCode, 202, running.body);
  // As a worker would have it: taken, and running.
  const db = new pg.Client({ connectionString: service.env.DATABASE_URL });
  await db.connect();
  t.after(() => db.end());
  await db.query(`UPDATE "Job" SET "status" = 'running', "startedAt" = now() WHERE "id" = $1::uuid`, [running.json().id]);

  await proxy.stop();
  assertUnavailable(await call(app, 'POST', '/v1/jobs', { ...JOB() }), 'QUEUE_UNAVAILABLE', 'submit');
  assertUnavailable(await call(app, 'POST', `/v1/jobs/${queued.json().id}/cancel`), 'QUEUE_UNAVAILABLE', 'cancel of a queued job');
  assertUnavailable(await call(app, 'POST', `/v1/jobs/${running.json().id}/cancel`), 'QUEUE_UNAVAILABLE', 'cancel of a running job');
  // The cancels are recorded all the same: the worker finds them in PostgreSQL.
  const { rows } = await db.query(`SELECT "status", "cancelRequested" FROM "Job" WHERE "id" = ANY($1::uuid[]) ORDER BY "createdAt"`, [[queued.json().id, running.json().id]]);
  assert.deepEqual(rows, [
    { status: 'cancelled', cancelRequested: true },
    { status: 'running', cancelRequested: true },
  ]);
  // What needs only PostgreSQL still works.
  assert.equal((await call(app, 'GET', `/v1/jobs/${queued.json().id}`)).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);

  await proxy.start();
  const cancelled = await until(200, () => call(app, 'POST', `/v1/jobs/${running.json().id}/cancel`));
  assert.equal(cancelled.statusCode, 200, `after Redis came back: ${cancelled.body}`);
  // The queue's own connection reconnects on its own schedule: it may come back a moment later.
  assert.equal((await until(200, () => call(app, 'POST', `/v1/jobs/${queued.json().id}/cancel`))).statusCode, 200);
  assert.equal((await until(202, () => call(app, 'POST', '/v1/jobs', JOB()))).statusCode, 202);
});
