/**
 * Store outages against a real service on its own Redis and PostgreSQL, stopped and restarted
 * while a job trains: the API answers 503 meanwhile and recovers by itself, and the job — waited
 * out by its worker, or resumed by another run — ends once, with no attempt used up.
 * Redis losing its data is survived too: PostgreSQL is the record, and the reconciler requeues.
 * LOPT_FAULT_OUTAGE_MS sets how long each store stays down (8 s by default).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { signalWorker, startFaultRig, type FaultRig } from '../helpers/fault-rig.js';

const OUTAGE_MS = Number(process.env.LOPT_FAULT_OUTAGE_MS ?? 8000);
let rig: FaultRig;

before(async () => {
  rig = await startFaultRig();
});
after(() => rig.close());

test('PostgreSQL down while a job trains: /v1 answers 503 STORE_UNAVAILABLE, and the job carries on when it is back', { timeout: 300_000 }, async () => {
  const id = await rig.submit(80);
  const worker = rig.startWorker();
  await rig.waitForStep(id, 10);
  await rig.postgres.stop();
  let during;
  try {
    during = await rig.request('GET', `/v1/jobs/${id}`);
    await sleep(OUTAGE_MS);
  } finally {
    await rig.postgres.start();
  }
  const [done] = await rig.waitAllFinal([id], 180_000);
  assert.equal(during.statusCode, 503, JSON.stringify(during.body));
  assert.equal(during.body.error.code, 'STORE_UNAVAILABLE');
  assert.ok(during.headers['retry-after'], 'Retry-After is set');
  assert.equal(done!.status, 'succeeded', JSON.stringify(done!.error));
  assert.equal(done!.lease, 1, 'the same run waited the outage out');
  assert.equal((await rig.request('GET', `/v1/jobs/${id}`)).statusCode, 200, 'the API recovered by itself');
  await rig.assertJobsSettled([id]);
  await signalWorker(worker, 'SIGKILL');
});

test('Redis down while a job trains: submits and cancels answer 503, the cancel lands all the same, and the running job ends once', { timeout: 300_000 }, async () => {
  const id = await rig.submit(80);
  const cancelled = await rig.submit(80);
  const worker = rig.startWorker();
  await rig.waitForStep(id, 10);
  await rig.redis.stop();
  let submit;
  let cancel;
  try {
    submit = await rig.request('POST', '/v1/jobs', { model: 'gpt2-mini', examples: [{ text: 'a', label: '1' }], task: 'ag_news', method: 'pt' });
    cancel = await rig.request('POST', `/v1/jobs/${cancelled}/cancel`);
    await sleep(OUTAGE_MS);
  } finally {
    await rig.redis.start();
  }
  const [done, other] = await rig.waitAllFinal([id, cancelled], 180_000);
  assert.equal(submit.statusCode, 503, JSON.stringify(submit.body));
  // The cancel is recorded in PostgreSQL; the answer says the queue could not be told (retrying is harmless).
  assert.equal(cancel.statusCode, 503, JSON.stringify(cancel.body));
  assert.equal(cancel.body.error.code, 'QUEUE_UNAVAILABLE');
  assert.equal(done!.status, 'succeeded', JSON.stringify(done!.error));
  assert.equal(other!.status, 'cancelled', 'the cancel landed all the same');
  // ioredis reconnects with a back-off of up to 2 s: the API takes submits again within a few seconds.
  let after = 0;
  for (let tries = 0; tries < 50 && after !== 202; tries++, await sleep(200)) {
    after = (await rig.request('POST', '/v1/jobs', { model: 'gpt2-mini', examples: [{ text: 'a', label: '1' }], task: 'ag_news', method: 'pt' })).statusCode;
  }
  assert.equal(after, 202, 'submits recovered by themselves');
  await rig.assertJobsSettled([id, cancelled]);
  await signalWorker(worker, 'SIGKILL');
});

test('Redis loses everything while a job trains: the reconciler queues the job again, and it resumes and ends once', { timeout: 300_000 }, async () => {
  const id = await rig.submit(80);
  const worker = rig.startWorker();
  await rig.waitForStep(id, 12);
  const redis = new Redis(rig.redis.url);
  await redis.flushall(); // as a Redis restarted without its data would be
  await redis.quit();
  const [done] = await rig.waitAllFinal([id], 180_000);
  assert.equal(done!.status, 'succeeded', JSON.stringify(done!.error));
  assert.ok(done!.lease >= 2, 'a new run took the requeued job');
  await rig.assertJobsSettled([id]);
  await signalWorker(worker, 'SIGKILL');
});

