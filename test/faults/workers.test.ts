/**
 * Worker faults against a real service on its own Redis and PostgreSQL: rolling restarts
 * (SIGTERM), crashes (SIGKILL) across jobs and past the stall limit, and a worker frozen past its
 * lock. Every scenario ends with each job in one final state, one prompt per succeeded job, one
 * training row per step and nothing written after the end (fault-rig's checks).
 * LOPT_FAULT_KILLS sets how many crashes the kill scenario deals (10 by default).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { signalWorker, startFaultRig, workerLog, type FaultRig } from '../helpers/fault-rig.js';

let rig: FaultRig;

before(async () => {
  rig = await startFaultRig();
});
after(() => rig.close());

test('SIGTERM three times during one job: each time it checkpoints and goes back, and no attempt is used up', { timeout: 300_000 }, async () => {
  const id = await rig.submit(60);
  for (let restart = 1; restart <= 3; restart++) {
    const worker = rig.startWorker();
    const before = await rig.job(id);
    await rig.waitForStep(id, before.step + 8);
    await signalWorker(worker, 'SIGTERM');
    const handedBack = await rig.job(id);
    assert.equal(handedBack.status, 'running', `after SIGTERM ${restart}`);
    assert.equal((await rig.prisma.checkpoint.findUnique({ where: { jobId: id } }))?.step, handedBack.step, 'checkpointed at the step it stopped');
  }
  const worker = rig.startWorker();
  const [done] = await rig.waitAllFinal([id], 120_000);
  assert.equal(done!.status, 'succeeded');
  assert.equal(done!.lease, 4, 'four runs took the job');
  const queued = await rig.service.deps.trainQueue.getJob(id);
  // BullMQ counts the completing attempt too: one means the hand-backs used none.
  assert.equal(queued?.attemptsMade, 1, 'hand-backs used no attempt');
  assert.deepEqual(queued?.stacktrace ?? [], [], 'no attempt failed');
  await rig.assertJobsSettled([id]);
  await signalWorker(worker, 'SIGKILL');
});

test('SIGKILL of a worker, again and again across jobs: every job ends once, none trained twice', { timeout: 600_000 }, async () => {
  const kills = Number(process.env.LOPT_FAULT_KILLS ?? 10);
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push(await rig.submit(40));
  const workers = [rig.startWorker(), rig.startWorker()];
  for (let kill = 0; kill < kills; kill++) {
    // Crash a worker only once training has moved on since the last crash, so every kill lands mid-job.
    const stepsSoFar = async () => (await rig.prisma.job.aggregate({ where: { id: { in: ids } }, _sum: { step: true } }))._sum.step ?? 0;
    const before = await stepsSoFar();
    const deadline = Date.now() + 60_000;
    while ((await stepsSoFar()) < before + 3 && (await rig.prisma.job.count({ where: { id: { in: ids }, status: { in: ['queued', 'running'] } } })) > 0) {
      assert.ok(Date.now() < deadline, `no training progress before kill ${kill + 1}`);
      await sleep(100);
    }
    await signalWorker(workers.shift()!, 'SIGKILL');
    workers.push(rig.startWorker());
  }
  const jobs = await rig.waitAllFinal(ids, 300_000);
  await rig.assertJobsSettled(ids);
  for (const worker of workers) await signalWorker(worker, 'SIGKILL');
  for (const job of jobs) {
    if (job.status !== 'succeeded') assert.equal((job.error as { code: string }).code, 'WORKER_LOST', `job ${job.id}: ${JSON.stringify(job.error)}`);
  }
  assert.ok(jobs.some((job) => job.status === 'succeeded'), 'some jobs got through');
});

test('a job whose worker dies more often than LOPT_MAX_STALLS allows ends failed with the reason', { timeout: 300_000 }, async () => {
  const id = await rig.submit(400);
  // The default limit is 3 stalls; the fourth crash is one too many.
  for (let crash = 1; crash <= 4; crash++) {
    const worker = rig.startWorker();
    const before = await rig.job(id);
    await rig.waitFor(id, `run ${crash} training`, (job) => job.lease > before.lease && job.step > before.step);
    await signalWorker(worker, 'SIGKILL');
  }
  const worker = rig.startWorker();
  const [failed] = await rig.waitAllFinal([id], 60_000);
  assert.equal(failed!.status, 'failed');
  assert.equal((failed!.error as { code: string }).code, 'WORKER_LOST');
  const shown = await rig.request('GET', `/v1/jobs/${id}`);
  assert.equal(shown.body.status, 'failed');
  assert.match(shown.body.error.message, /stopped .* more than 3 times/);
  await rig.assertJobsSettled([id]);
  await signalWorker(worker, 'SIGKILL');
});

test('a worker frozen past its lock: another takes the job over, and the first, woken, writes nothing more', { timeout: 300_000 }, async () => {
  const id = await rig.submit(120);
  const first = rig.startWorker();
  const firstLog = workerLog(first);
  await rig.waitForStep(id, 10);
  const frozen = await rig.job(id);
  await signalWorker(first, 'SIGSTOP');
  const second = rig.startWorker();
  const taken = await rig.waitFor(id, 'the takeover', (job) => job.lease > frozen.lease);
  await signalWorker(first, 'SIGCONT');
  const [done] = await rig.waitAllFinal([id], 180_000);
  // Woken, the first worker found its lock (or its lease) gone and stopped: at its next step (it
  // may still be in the step it froze in when the job ends), or, when it froze inside a
  // transaction that PostgreSQL ended meanwhile, by the queue refusing to take the job back from it.
  const stopped = /lost the lock on the job|another run took the job|Lock mismatch for job/;
  for (const deadline = Date.now() + 30_000; !stopped.test(firstLog.text) && Date.now() < deadline; ) await sleep(200);
  assert.match(firstLog.text, stopped);
  assert.equal(done!.status, 'succeeded');
  assert.equal(done!.lease, taken.lease, 'the job ended under the lease of the run that took it over');
  await rig.assertJobsSettled([id]);
  await Promise.all([signalWorker(first, 'SIGKILL'), signalWorker(second, 'SIGKILL')]);
});
