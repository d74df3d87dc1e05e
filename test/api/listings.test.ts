/**
 * Listings and deletes through the real API and PostgreSQL (and Redis's queue): datasets and
 * prompts a page at a time with their filters, a dataset that cannot go while a job uses it,
 * deletes that are tenant-scoped and idempotent, a deleted job leaving its prompt, a running job
 * deleted under its worker, and API keys listed, rotated and revoked from the command line.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { startTestService, TINY_SENTIMENT_JSONL, tinySentimentJob, type TestService } from '../helpers/service.js';

let service: TestService;
let key: string;
let otherKey: string;

const call = (method: 'GET' | 'POST' | 'DELETE', url: string, route: string, payload?: object | string, contentType?: string) =>
  service.call(key, method, url, route, payload, contentType);
const upload = async (name: string) => {
  const { status, body } = await call('POST', `/v1/datasets?name=${name}`, '/v1/datasets', TINY_SENTIMENT_JSONL, 'application/x-ndjson');
  assert.equal(status, 201, JSON.stringify(body));
  return body.id as string;
};
const submit = async (datasetId: string, overrides: object = {}) => {
  const { status, body } = await call('POST', '/v1/jobs', '/v1/jobs', tinySentimentJob(datasetId, overrides));
  assert.equal(status, 202, JSON.stringify(body));
  return body.id as string;
};
/** A prompt of a job, as its worker would store it, or an import (no worker runs in most of these tests). */
const storePrompt = (jobId: string | null, method: 'pt' | 'lopt1') => service.storePrompt(key, { task: tinySentimentJob('').task, jobId, method });

before(async () => {
  service = await startTestService();
  [key, otherKey] = [await service.newKey('lister'), await service.newKey('other')];
});
after(() => service.close());

describe('datasets', () => {
  test('are listed newest first a page at a time, without content, each tenant its own', async () => {
    const ids = [await upload('one'), await upload('two'), await upload('three')];
    const first = await call('GET', '/v1/datasets?limit=2', '/v1/datasets');
    assert.equal(first.status, 200);
    assert.deepEqual(first.body.items.map((d: { id: string }) => d.id), [ids[2], ids[1]]);
    assert.equal(first.body.nextCursor, ids[1]);
    const rest = await call('GET', `/v1/datasets?limit=2&cursor=${first.body.nextCursor}`, '/v1/datasets');
    assert.deepEqual([rest.body.items.map((d: { id: string }) => d.id), rest.body.nextCursor], [[ids[0]], null]);
    const bad = await call('GET', `/v1/datasets?cursor=${ids[0]}x`, '/v1/datasets');
    assert.deepEqual([bad.status, bad.body.error.code], [400, 'INVALID_CURSOR']);
    const others = await service.call(otherKey, 'GET', '/v1/datasets', '/v1/datasets');
    assert.deepEqual(others.body.items, []);
  });

  test('cannot be deleted while a queued job uses it; once it ended, the job keeps its record without it', async () => {
    const datasetId = await upload('in-use');
    const jobId = await submit(datasetId);
    const refused = await call('DELETE', `/v1/datasets/${datasetId}`, '/v1/datasets/{id}');
    assert.deepEqual([refused.status, refused.body.error.code, refused.body.error.details], [409, 'DATASET_IN_USE', { jobIds: [jobId] }]);
    // Another tenant's delete deletes nothing, and says no more than a delete of nothing does.
    const foreign = await service.call(otherKey, 'DELETE', `/v1/datasets/${datasetId}`, '/v1/datasets/{id}');
    assert.equal(foreign.status, 204);

    await call('POST', `/v1/jobs/${jobId}/cancel`, '/v1/jobs/{id}/cancel');
    for (let attempt = 0; attempt < 2; attempt++) assert.equal((await call('DELETE', `/v1/datasets/${datasetId}`, '/v1/datasets/{id}')).status, 204);
    assert.equal((await call('GET', `/v1/datasets/${datasetId}`, '/v1/datasets/{id}')).status, 404);
    const job = await call('GET', `/v1/jobs/${jobId}`, '/v1/jobs/{id}');
    assert.deepEqual([job.body.status, job.body.datasetId], ['cancelled', null]);
    // A job submitted against the deleted dataset finds it gone.
    const late = await call('POST', '/v1/jobs', '/v1/jobs', tinySentimentJob(datasetId));
    assert.equal(late.status, 404);
  });
});

describe('prompts', () => {
  test('are listed newest first, filtered by model, method, job and source, without weights', async () => {
    const datasetId = await upload('for-prompts');
    const jobs = [await submit(datasetId), await submit(datasetId)];
    const stored = [await storePrompt(jobs[0]!, 'pt'), await storePrompt(jobs[1]!, 'lopt1'), await storePrompt(null, 'pt')];
    const ids = (url: string) => call('GET', url, '/v1/prompts').then(({ status, body }) => {
      assert.equal(status, 200, JSON.stringify(body));
      return body.items.map((p: { id: string }) => p.id);
    });
    assert.deepEqual(await ids('/v1/prompts'), [stored[2]!.id, stored[1]!.id, stored[0]!.id]);
    assert.deepEqual(await ids('/v1/prompts?method=pt'), [stored[2]!.id, stored[0]!.id]);
    assert.deepEqual(await ids(`/v1/prompts?jobId=${jobs[1]}`), [stored[1]!.id]);
    assert.deepEqual(await ids('/v1/prompts?source=peft'), [stored[2]!.id]);
    assert.deepEqual(await ids('/v1/prompts?model=tiny-llama'), []);
    assert.deepEqual(await ids('/v1/prompts?jobId=not-a-uuid'), []);
    const page = await call('GET', '/v1/prompts?limit=1', '/v1/prompts');
    assert.deepEqual(page.body.items[0].shapes, { X: [4, 256] });
    assert.equal(page.body.nextCursor, stored[2]!.id);
    assert.deepEqual(await ids(`/v1/prompts?limit=2&cursor=${page.body.nextCursor}`), [stored[1]!.id, stored[0]!.id]);
    assert.deepEqual((await service.call(otherKey, 'GET', '/v1/prompts', '/v1/prompts')).body.items, []);
  });

  test('a deleted prompt is gone for predict too, and deleting it again is no error', async () => {
    const prompt = await storePrompt(null, 'pt');
    assert.equal((await service.call(otherKey, 'DELETE', `/v1/prompts/${prompt.id}`, '/v1/prompts/{id}')).status, 204);
    assert.equal((await call('GET', `/v1/prompts/${prompt.id}`, '/v1/prompts/{id}')).status, 200);
    for (let attempt = 0; attempt < 2; attempt++) assert.equal((await call('DELETE', `/v1/prompts/${prompt.id}`, '/v1/prompts/{id}')).status, 204);
    assert.equal((await call('GET', `/v1/prompts/${prompt.id}`, '/v1/prompts/{id}')).status, 404);
    assert.equal((await call('POST', `/v1/prompts/${prompt.id}/predict`, '/v1/prompts/{id}/predict', { texts: ['fine'] })).status, 404);
  });
});

describe('jobs', () => {
  test('a deleted job leaves the queue, takes its metrics and leaves its prompt', async () => {
    const datasetId = await upload('for-jobs');
    const queued = await submit(datasetId);
    assert.ok(await service.deps.trainQueue.getJob(queued));
    assert.equal((await call('DELETE', `/v1/jobs/${queued}`, '/v1/jobs/{id}')).status, 204);
    assert.equal((await call('GET', `/v1/jobs/${queued}`, '/v1/jobs/{id}')).status, 404);
    assert.equal((await call('GET', `/v1/jobs/${queued}/metrics`, '/v1/jobs/{id}/metrics')).status, 404);
    assert.equal(await service.deps.trainQueue.getJob(queued), undefined);
    assert.equal((await call('DELETE', `/v1/jobs/${queued}`, '/v1/jobs/{id}')).status, 204);

    const trained = await submit(datasetId);
    const prompt = await storePrompt(trained, 'pt');
    assert.equal((await call('DELETE', `/v1/jobs/${trained}`, '/v1/jobs/{id}')).status, 204);
    const kept = await call('GET', `/v1/prompts/${prompt.id}`, '/v1/prompts/{id}');
    assert.deepEqual([kept.status, kept.body.jobId], [200, null]);
  });

  test('a running job deleted under its worker stops: no prompt, no metrics, and the worker takes the next job', { timeout: 240_000 }, async () => {
    const datasetId = await upload('running');
    const running = await submit(datasetId, { hyperparameters: { maxSteps: 10_000, batchSize: 2, evalEvery: 0 } });
    service.startWorker();
    for (let deadline = Date.now() + 120_000; ; await sleep(200)) {
      const { body } = await call('GET', `/v1/jobs/${running}`, '/v1/jobs/{id}');
      if (body.status === 'running' && body.progress?.step > 0) break;
      assert.ok(Date.now() < deadline, `job still ${body.status}`);
    }
    assert.equal((await call('DELETE', `/v1/jobs/${running}`, '/v1/jobs/{id}')).status, 204);
    const next = await submit(datasetId, { hyperparameters: { maxSteps: 1 } });
    const done = await service.finishedJob(key, next, 120_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal(await service.deps.store.prompts.idForJob(running), null);
    assert.deepEqual(await service.deps.store.metrics.list(running, { limit: 10 }), []);
    assert.equal((await call('GET', `/v1/jobs/${running}`, '/v1/jobs/{id}')).status, 404);
  });
});

describe('API keys from the command line', () => {
  const keys = async (...args: string[]) => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/db/keys-cli.ts', ...args], { env: service.env });
    return stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>);
  };

  test('a second key rotates in, the list shows no secret, and a revoked key answers 401 at once', async () => {
    const { tenantId } = (await service.deps.store.tenants.findByApiKey(key))!;
    const [added] = await keys('create', '--tenant-id', tenantId, '--name', 'rotated');
    assert.equal(added!.tenantId, tenantId);
    assert.equal((await service.call(added!.apiKey, 'GET', '/v1/models', '/v1/models')).status, 200);
    const listed = await keys('list', '--tenant-id', tenantId);
    assert.deepEqual(listed.map((k) => [k.name, k.revokedAt]), [['test', null], ['rotated', null]]); // newKey names a tenant's first key "test"
    for (const listedKey of listed) assert.deepEqual(Object.keys(listedKey).sort(), ['createdAt', 'keyId', 'name', 'revokedAt', 'tenantId', 'tenantName']);

    const [revoked] = await keys('revoke', '--key', added!.keyId);
    assert.ok(revoked!.revokedAt);
    const refused = await service.call(added!.apiKey, 'GET', '/v1/models', '/v1/models');
    assert.deepEqual([refused.status, refused.body.error.code], [401, 'UNAUTHENTICATED']);
    assert.equal((await call('GET', '/v1/models', '/v1/models')).status, 200);
    const [again] = await keys('revoke', '--key', added!.keyId);
    assert.equal(again!.revokedAt, revoked!.revokedAt);
  });
});
