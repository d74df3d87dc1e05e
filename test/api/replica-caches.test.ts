/**
 * What the API caches to answer fast, seen from two replicas of one deployment (one database, one
 * queue prefix, two API processes' worth of dependencies): a key revoked or a prompt deleted on
 * one is refused or gone on the other at once, through the Redis invalidation channel; concurrent
 * predicts over several prompts share batches and answer exactly as one at a time.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { connectApiDeps } from '../../src/api/build-deps.js';
import type { ApiDeps } from '../../src/api/api-deps.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { startTestService, type TestService } from '../helpers/service.js';

let service: TestService;
let other: { app: FastifyInstance; deps: ApiDeps; close(): Promise<void> };
let key: string;

before(async () => {
  service = await startTestService();
  const { deps, close } = await connectApiDeps(loadConfig(service.env), createLogger('silent'));
  const app = await buildApp(createLogger('silent'), deps);
  await app.ready();
  other = { app, deps, close };
  key = await service.newKey('replicas');
});
after(async () => {
  await other.app.close();
  await other.close();
  await service.close();
});

const on = (app: FastifyInstance, secret: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${secret}` }, ...(payload ? { payload } : {}) });

/** Until `check` holds, for at most a second: a pub/sub message is on its way. */
async function soon(check: () => Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 1000; !(await check()); await sleep(10)) assert.ok(Date.now() < deadline, what);
}

test('a key revoked through one replica is refused by the other, which had it cached', async () => {
  const { tenantId } = (await service.deps.store.tenants.findByApiKey(key))!;
  const added = (await service.deps.store.tenants.addKey(tenantId, 'short-lived'))!;
  // Both replicas now remember the key.
  assert.equal((await on(service.app, added.secret, 'GET', '/v1/models')).statusCode, 200);
  assert.equal((await on(other.app, added.secret, 'GET', '/v1/models')).statusCode, 200);
  await service.deps.store.tenants.revokeKey(added.keyId);
  // Revoked in the store but not yet announced: the cache still answers for it, within its TTL.
  assert.equal((await on(other.app, added.secret, 'GET', '/v1/models')).statusCode, 200);
  await service.deps.invalidate({ kind: 'api-key', id: added.keyId });
  assert.equal((await on(service.app, added.secret, 'GET', '/v1/models')).statusCode, 401);
  await soon(async () => (await on(other.app, added.secret, 'GET', '/v1/models')).statusCode === 401, 'the other replica still accepts the revoked key');
  assert.equal((await on(other.app, key, 'GET', '/v1/models')).statusCode, 200);
});

test('a prompt deleted through one replica is gone on the other, which had it and its state cached', async () => {
  const prompt = await service.storePrompt(key, { task: TASK_CATALOG.ag_news.task, method: 'lopt1', n: 5 });
  const predict = (app: FastifyInstance) => on(app, key, 'POST', `/v1/prompts/${prompt.id}/predict`, { texts: ['Stocks fell sharply.'] });
  assert.equal((await predict(other.app)).statusCode, 200);
  assert.equal((await on(service.app, key, 'DELETE', `/v1/prompts/${prompt.id}`)).statusCode, 204);
  assert.equal((await predict(service.app)).statusCode, 404);
  await soon(async () => (await predict(other.app)).statusCode === 404, 'the other replica still predicts with the deleted prompt');
});

test('concurrent predicts over four prompts share batches and answer as they do one at a time', async () => {
  // Two of one length and two of others: one pass per length, and two prompts sharing one.
  const prompts = await Promise.all([3, 4, 5, 5].map((n) => service.storePrompt(key, { task: TASK_CATALOG.ag_news.task, method: 'lopt1', n })));
  const texts = ['Stocks fell sharply on Wall Street.', 'The striker scored twice.', 'A new chip promises faster phones.', 'Leaders met in Geneva.'];
  const calls = Array.from({ length: 24 }, (_, i) => ({ prompt: prompts[i % 4]!.id, text: texts[(i >> 2) % 4]! }));
  const predict = async ({ prompt, text }: (typeof calls)[number]) => {
    const response = await on(service.app, key, 'POST', `/v1/prompts/${prompt}/predict`, { texts: [text] });
    assert.equal(response.statusCode, 200, response.body);
    return response.json().predictions[0] as { label: string; probabilities: Record<string, number> };
  };
  const alone: Array<Awaited<ReturnType<typeof predict>>> = [];
  for (const call of calls) alone.push(await predict(call));
  const batchesBefore = await batchCount();
  const together = await Promise.all(calls.map(predict));
  assert.ok((await batchCount()) - batchesBefore < calls.length, 'every request ran in a batch of its own');
  together.forEach((prediction, i) => {
    assert.equal(prediction.label, alone[i]!.label);
    for (const [label, p] of Object.entries(prediction.probabilities)) assert.ok(Math.abs(p - alone[i]!.probabilities[label]!) < 1e-5, `call ${i}, label ${label}`);
  });
});

/** Batches the inference thread has run, from the API's metrics. */
async function batchCount(): Promise<number> {
  const text = await service.deps.metrics.scrape();
  return Number(/^lopt_inference_batch_inputs_count (\d+)$/m.exec(text)?.[1] ?? 0);
}
