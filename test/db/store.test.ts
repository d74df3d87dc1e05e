import { summarizeRows } from '../../src/engine/datasets/dataset-summary.js';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { appendFile, cp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { bytesToFloat32, float32ToBytes } from '../../src/db/float32-bytes.js';
import type { Job, PrismaClient } from '../../src/db/generated/client.js';
import { InvalidCursorError } from '../../src/db/invalid-cursor-error.js';
import { LeaseLostError } from '../../src/db/job-leases-repository.js';
import { applyMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { connectDatabase, type Database } from '../../src/db/prisma-client.js';
import type { Tensor } from '../../src/db/prompts-repository.js';
import { createStore, type Store } from '../../src/db/store.js';
import { tempDir } from '../helpers/temp-dir.js';

const SERVER = 'postgresql://postgres@127.0.0.1:5432';
const DATABASE = 'lopt_test_store';
const RACE_DATABASE = 'lopt_test_store_race';
const UPGRADE_DATABASE = 'lopt_test_store_upgrade';

let database: Database;
let prisma: PrismaClient;
let store: Store;
let firstApplied: string[];

async function dropDatabases(): Promise<void> {
  const admin = new pg.Client({ connectionString: `${SERVER}/postgres` });
  await admin.connect();
  try {
    for (const name of [DATABASE, RACE_DATABASE, UPGRADE_DATABASE]) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

before(async () => {
  await dropDatabases();
  firstApplied = await applyMigrations(`${SERVER}/${DATABASE}`);
  database = connectDatabase(`${SERVER}/${DATABASE}`);
  prisma = database.prisma;
  store = createStore(database);
});

after(async () => {
  await database.close();
  await dropDatabases();
});

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

async function newTenant() {
  const { tenantId } = await store.tenants.createWithKey(`tenant ${randomUUID()}`, 'default');
  const dataset = await store.datasets.create({
    tenantId,
    name: 'train.csv',
    format: 'csv',
    columns: { text: 'sentence', label: 'label' },
    rowCount: 2,
    sizeBytes: 5,
    sha256: sha256('a,b\n'),
    content: new TextEncoder().encode('a,b\n'),
    summary: summarizeRows([{ line: 1, fields: { text: 'a', label: 'b' } }]),
  });
  return { tenantId, datasetId: dataset.id };
}

async function newJob(owner: { tenantId: string; datasetId: string }, idempotencyKey: string | null = null) {
  const { job } = await store.jobs.create({
    ...owner,
    modelId: 'gpt2-mini',
    validationDatasetId: null,
    spec: { prompt: { method: 'lopt1', n: 4, r: 2 } },
    totalSteps: 10,
    idempotencyKey,
  });
  return job;
}

function tensor(shape: number[], values: number[]) {
  return { shape, data: Float32Array.from(values) };
}

function bitsOf(data: Float32Array): Uint32Array {
  return new Uint32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

test('migrations apply once and are recorded in _prisma_migrations', async () => {
  const entries = await readdir(MIGRATIONS_DIR, { withFileTypes: true });
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  assert.ok(names.length > 0);
  assert.deepEqual(firstApplied, names);
  assert.deepEqual(await applyMigrations(`${SERVER}/${DATABASE}`), []);

  const rows = await prisma.$queryRaw<Array<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }>>`
    SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`;
  assert.deepEqual(
    rows.map((row) => row.migration_name),
    names,
  );
  for (const row of rows) {
    assert.equal(row.checksum, sha256(await readFile(join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'))));
    assert.ok(row.finished_at instanceof Date);
    assert.equal(row.applied_steps_count, 1);
  }
});

test('two appliers starting together create the database and apply each migration once', async () => {
  const url = `${SERVER}/${RACE_DATABASE}`;
  const results = await Promise.all([applyMigrations(url), applyMigrations(url), applyMigrations(url)]);
  assert.deepEqual(results.flat().sort(), firstApplied);

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT count(*)::int AS n FROM "_prisma_migrations"');
    assert.equal(rows[0].n, firstApplied.length);
  } finally {
    await client.end();
  }
});

test('a migration changed after it was applied is refused', async () => {
  const dir = tempDir();
  await cp(MIGRATIONS_DIR, dir, { recursive: true });
  const [first] = firstApplied;
  assert.ok(first);
  await appendFile(join(dir, first, 'migration.sql'), '\n-- edited\n');

  await assert.rejects(applyMigrations(`${SERVER}/${DATABASE}`, undefined, dir), (err: Error) => {
    assert.match(err.message, new RegExp(`migration ${first} was changed after it was applied`));
    return true;
  });
});

test('the prompt-import migration gives stored prompts their job\'s prompt spec, and a deleted job then leaves its prompt', async () => {
  const url = `${SERVER}/${UPGRADE_DATABASE}`;
  const before = tempDir();
  await cp(MIGRATIONS_DIR, before, { recursive: true });
  await rm(join(before, '20261202000000_prompt_import_and_deletes'), { recursive: true });
  await applyMigrations(url, undefined, before);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const [tenant, dataset, job, prompt] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const spec = { task: { kind: 'classification' }, prompt: { method: 'lopt1', n: 4, r: 2, seed: 3 }, training: {}, validationFraction: 0.1 };
    await client.query(`INSERT INTO "Tenant" (id, name) VALUES ($1, 't')`, [tenant]);
    await client.query(`INSERT INTO "Dataset" (id, "tenantId", name, format, "rowCount", "sizeBytes", sha256, content) VALUES ($1, $2, 'd', 'csv', 0, 0, '', '')`, [dataset, tenant]);
    await client.query(`INSERT INTO "Job" (id, "tenantId", "modelId", "datasetId", spec, status) VALUES ($1, $2, 'gpt2-mini', $3, $4, 'succeeded')`, [job, tenant, dataset, spec]);
    await client.query(
      `INSERT INTO "Prompt" (id, "tenantId", "jobId", "modelId", method, n, r, "trainableParameters", task, metrics, shapes, x) VALUES ($1, $2, $3, 'gpt2-mini', 'lopt1', 4, 2, 8, '{}', '{}', '{}', '')`,
      [prompt, tenant, job],
    );
    assert.deepEqual(await applyMigrations(url), ['20261202000000_prompt_import_and_deletes']);
    const upgraded = await client.query(`SELECT spec, source, "jobId" FROM "Prompt" WHERE id = $1`, [prompt]);
    assert.deepEqual(upgraded.rows[0], { spec: spec.prompt, source: 'trained', jobId: job });
    await client.query(`DELETE FROM "Job" WHERE id = $1`, [job]);
    const kept = await client.query(`SELECT "jobId" FROM "Prompt" WHERE id = $1`, [prompt]);
    assert.deepEqual(kept.rows, [{ jobId: null }]);
  } finally {
    await client.end();
  }
});

test('an API key authenticates by its hash; unknown and revoked keys do not', async () => {
  const { tenantId, keyId, secret } = await store.tenants.createWithKey('acme', 'ci');
  assert.match(secret, /^lopt_[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(await store.tenants.findByApiKey(secret), { tenantId, keyId });

  const key = await prisma.apiKey.findUniqueOrThrow({ where: { id: keyId } });
  assert.equal(key.keyHash, sha256(secret));
  assert.equal(key.name, 'ci');
  assert.equal(await prisma.apiKey.count({ where: { keyHash: secret } }), 0);

  assert.equal(await store.tenants.findByApiKey(`${secret}x`), null);
  assert.equal(await store.tenants.findByApiKey(''), null);
  await prisma.apiKey.update({ where: { id: keyId }, data: { revokedAt: new Date() } });
  assert.equal(await store.tenants.findByApiKey(secret), null);
});

test('datasets come back without their content, which is read separately', async () => {
  const { tenantId, datasetId } = await newTenant();
  const dataset = await store.datasets.findById(tenantId, datasetId);
  assert.ok(dataset);
  assert.equal('content' in dataset, false);
  assert.deepEqual(dataset.columns, { text: 'sentence', label: 'label' });
  assert.equal(dataset.rowCount, 2);
  assert.equal(new TextDecoder().decode((await store.datasets.content(tenantId, datasetId)) ?? undefined), 'a,b\n');

  const bare = await store.datasets.create({
    tenantId,
    name: 'x.jsonl',
    format: 'jsonl',
    columns: null,
    rowCount: 0,
    sizeBytes: 0,
    sha256: sha256(''),
    content: new Uint8Array(0),
    summary: summarizeRows([]),
  });
  assert.equal(bare.columns, null);
  assert.equal((await store.datasets.content(null, bare.id))?.byteLength, 0);
});

/** A small pt prompt of a job. */
const promptOf = (owner: { tenantId: string }, jobId: string) => ({
  tenantId: owner.tenantId,
  jobId,
  source: 'trained' as const,
  spec: { method: 'pt', n: 1 },
  modelId: 'gpt2-mini',
  method: 'pt',
  n: 1,
  r: null,
  activation: null,
  trainableParameters: 2,
  task: {},
  metrics: { accuracy: 0.9 },
  tensors: { X: tensor([1, 2], [1, 2]) },
});

test("a tenant never sees another tenant's datasets, jobs or prompts", async () => {
  const a = await newTenant();
  const b = await newTenant();
  const job = await newJob(a);
  const prompt = await store.prompts.create(promptOf(a, job.id));

  assert.equal(await store.datasets.findById(b.tenantId, a.datasetId), null);
  assert.equal(await store.datasets.content(b.tenantId, a.datasetId), null);
  assert.equal(await store.jobs.findById(b.tenantId, job.id), null);
  assert.equal(await store.jobs.requestCancel(b.tenantId, job.id), null);
  assert.equal(await store.prompts.findById(b.tenantId, prompt.id), null);
  await assert.rejects(store.jobs.list(b.tenantId, { cursor: job.id, limit: 10 }), InvalidCursorError);
  assert.deepEqual((await store.jobs.list(b.tenantId, { limit: 10 })).items, []);

  assert.equal((await store.jobs.findById(a.tenantId, job.id))?.status, 'queued');
  assert.equal((await store.jobs.findById(null, job.id))?.id, job.id);
  assert.equal((await store.datasets.findById(null, a.datasetId))?.id, a.datasetId);
  assert.ok(await store.datasets.content(null, a.datasetId));
  assert.equal((await store.prompts.findById(a.tenantId, prompt.id))?.jobId, job.id);
});

test('an idempotency key gives the job it created before, also when requests race', async () => {
  const owner = await newTenant();
  const first = await store.jobs.create({
    ...owner,
    modelId: 'gpt2-mini',
    validationDatasetId: null,
    spec: { a: 1 },
    totalSteps: null,
    idempotencyKey: 'key-1',
  });
  assert.equal(first.created, true);
  assert.deepEqual(first.job.spec, { a: 1 });
  const again = await store.jobs.create({ ...owner, modelId: 'other', validationDatasetId: null, spec: { a: 2 }, totalSteps: null, idempotencyKey: 'key-1' });
  assert.equal(again.created, false);
  assert.deepEqual(again.job, first.job);

  const other = await newTenant();
  assert.equal((await store.jobs.create({ ...other, modelId: 'm', validationDatasetId: null, spec: {}, totalSteps: null, idempotencyKey: 'key-1' })).created, true);
  const withoutKey = [await newJob(owner), await newJob(owner)];
  assert.notEqual(withoutKey[0]?.id, withoutKey[1]?.id);

  const racing = await Promise.all(
    Array.from({ length: 5 }, () =>
      store.jobs.create({ ...owner, modelId: 'm', validationDatasetId: null, spec: {}, totalSteps: null, idempotencyKey: 'key-2' }),
    ),
  );
  assert.equal(racing.filter((r) => r.created).length, 1);
  assert.equal(new Set(racing.map((r) => r.job.id)).size, 1);
});

test('jobs page newest first through cursors, with a status filter', async () => {
  const owner = await newTenant();
  const jobs: Job[] = [];
  for (let i = 0; i < 5; i++) jobs.push(await newJob(owner));
  // Three jobs share a createdAt, so the id decides their order.
  const times = [1000, 2000, 2000, 2000, 3000].map((ms) => new Date(Date.UTC(2026, 0, 1) + ms));
  for (const [i, job] of jobs.entries()) await prisma.job.update({ where: { id: job.id }, data: { createdAt: times[i] } });
  await prisma.job.update({ where: { id: jobs[1]!.id }, data: { status: 'running' } });
  const expected = (await prisma.job.findMany({ where: { tenantId: owner.tenantId } }))
    .sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime() || (x.id < y.id ? 1 : -1))
    .map((job) => job.id);

  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.jobs.list(owner.tenantId, { limit: 2, ...(cursor ? { cursor } : {}) });
    seen.push(...page.items.map((job) => job.id));
    cursor = page.nextCursor ?? undefined;
    pages++;
  } while (cursor);
  assert.deepEqual(seen, expected);
  assert.equal(pages, 3);

  const queued = expected.filter((id) => id !== jobs[1]!.id);
  const page1 = await store.jobs.list(owner.tenantId, { status: 'queued', limit: 3 });
  assert.deepEqual(page1.items.map((job) => job.id), queued.slice(0, 3));
  assert.equal(page1.nextCursor, queued[2]);
  // The cursor's job starts running between pages; the next page still continues after it.
  await prisma.job.update({ where: { id: page1.nextCursor! }, data: { status: 'running' } });
  const page2 = await store.jobs.list(owner.tenantId, { status: 'queued', cursor: page1.nextCursor!, limit: 3 });
  assert.deepEqual(page2.items.map((job) => job.id), queued.slice(3));
  assert.equal(page2.nextCursor, null);
  assert.deepEqual((await store.jobs.list(owner.tenantId, { status: 'failed', limit: 3 })).items, []);

  for (const bad of [randomUUID(), 'not-a-uuid']) {
    await assert.rejects(store.jobs.list(owner.tenantId, { cursor: bad, limit: 2 }), (err: unknown) => {
      assert.ok(err instanceof InvalidCursorError);
      assert.equal(err.statusCode, 400);
      assert.equal(err.code, 'INVALID_CURSOR');
      return true;
    });
  }
});

test('cancelling: a queued job at once, a running one by flag, a finished one not at all', async () => {
  const owner = await newTenant();
  const queued = await newJob(owner);
  const cancelled = await store.jobs.requestCancel(owner.tenantId, queued.id);
  assert.equal(cancelled?.status, 'cancelled');
  assert.equal(cancelled?.cancelRequested, true);
  assert.deepEqual(cancelled?.error, { code: 'CANCELLED', message: 'cancelled before it started' });
  assert.ok(cancelled?.finishedAt);
  assert.equal(await store.leases.acquire(queued.id, 10), null);

  const running = await newJob(owner);
  const lease = await store.leases.acquire(running.id, 10);
  assert.equal(await lease?.cancelRequested(), false);
  const flagged = await store.jobs.requestCancel(owner.tenantId, running.id);
  assert.equal(flagged?.status, 'running');
  assert.equal(flagged?.cancelRequested, true);
  assert.equal(flagged?.error, null);
  assert.equal(await lease?.cancelRequested(), true);

  const done = await newJob(owner);
  await (await store.leases.acquire(done.id, 10))?.end('failed', { code: 'TRAINING_DIVERGED', message: 'NaN' });
  const ended = await store.jobs.findById(null, done.id);
  assert.deepEqual(await store.jobs.requestCancel(owner.tenantId, done.id), ended);
});

test('a run takes the job with a new lease, records steps, evaluations and checkpoints, and ends it with its prompt', async () => {
  const owner = await newTenant();
  const job = await newJob(owner);
  const lease = await store.leases.acquire(job.id, 40);
  assert.ok(lease);
  assert.equal(lease.lease, 1);
  assert.equal(lease.checkpoint, null);
  const running = await store.jobs.findById(null, job.id);
  assert.equal(running?.status, 'running');
  assert.equal(running?.totalSteps, 40);
  assert.ok(running?.startedAt);

  await lease.recordStep(7, { step: 7, loss: 0.5 }, { loss: 0.5, learningRate: 0.01, tokensPerSecond: 900 });
  await lease.recordStep(7, { step: 7, loss: 0.5 }, { loss: 0.5, learningRate: 0.01, tokensPerSecond: 900 }); // a retried write
  await lease.recordEvaluation(7, { loss: 0.4, accuracy: 0.8 }, true);
  await lease.recordEvaluation(8, { loss: 0.6, accuracy: 0.7 }, false);
  await lease.saveCheckpoint(5, Uint8Array.from([1, 2, 3]));
  await lease.saveCheckpoint(7, Buffer.from([4, 5, 6, 7]));
  const progressed = await store.jobs.findById(null, job.id);
  assert.equal(progressed?.step, 7);
  assert.deepEqual(progressed?.progress, { step: 7, loss: 0.5 });
  assert.deepEqual(progressed?.bestMetrics, { loss: 0.4, accuracy: 0.8 });
  assert.deepEqual((await store.metrics.list(job.id, { limit: 10 })).map((m) => [m.step, m.split]), [[7, 'train'], [7, 'validation'], [8, 'validation']]);
  assert.equal(await prisma.checkpoint.count({ where: { jobId: job.id } }), 1);

  await lease.succeed(promptOf(owner, job.id), { accuracy: 0.9 });
  await lease.succeed(promptOf(owner, job.id), { accuracy: 0.9 }); // a retry after an unacknowledged commit
  const done = await store.jobs.findById(null, job.id);
  assert.equal(done?.status, 'succeeded');
  assert.ok(done?.finishedAt);
  assert.deepEqual(done?.bestMetrics, { accuracy: 0.9 });
  assert.equal(await prisma.prompt.count({ where: { jobId: job.id } }), 1);
  assert.equal(await prisma.checkpoint.count({ where: { jobId: job.id } }), 0);
  assert.equal(await store.leases.acquire(job.id, 40), null);
});

test('a newer run fences the older one out: it writes nothing more, and resumes from the checkpoint without the rows past it', async () => {
  const owner = await newTenant();
  const job = await newJob(owner);
  const first = await store.leases.acquire(job.id, 30);
  assert.ok(first);
  for (const step of [1, 2, 3, 4, 5, 6]) await first.recordStep(step, { step }, { loss: step });
  await first.saveCheckpoint(4, Uint8Array.from([4]));

  const second = await store.leases.acquire(job.id, 30);
  assert.ok(second);
  assert.equal(second.lease, first.lease + 1);
  assert.equal(second.checkpoint?.step, 4);
  assert.deepEqual([...(second.checkpoint?.data ?? [])], [4]);
  assert.equal((await store.jobs.findById(null, job.id))?.step, 4);
  assert.deepEqual((await store.metrics.list(job.id, { limit: 10 })).map((m) => m.step), [1, 2, 3, 4]);

  await assert.rejects(first.recordStep(7, { step: 7 }, { loss: 7 }), LeaseLostError);
  await assert.rejects(first.recordEvaluation(7, { loss: 7 }, true), LeaseLostError);
  await assert.rejects(first.saveCheckpoint(7, Uint8Array.from([7])), LeaseLostError);
  await assert.rejects(first.succeed(promptOf(owner, job.id), null), LeaseLostError);
  await assert.rejects(first.end('failed', { code: 'X', message: 'x' }), LeaseLostError);
  assert.equal((await store.jobs.findById(null, job.id))?.status, 'running');
  assert.equal(await prisma.prompt.count({ where: { jobId: job.id } }), 0);
  assert.equal((await prisma.checkpoint.findUnique({ where: { jobId: job.id } }))?.step, 4);

  // Ended by someone else (the reconciler): the lease is gone too, and nothing is written after the end.
  assert.equal(await store.jobs.endUnfinished(job.id, 'failed', { code: 'WORKER_LOST', message: 'stalled' }), true);
  assert.equal(await store.jobs.endUnfinished(job.id, 'cancelled', { code: 'CANCELLED', message: 'late' }), false);
  assert.equal(await prisma.checkpoint.count({ where: { jobId: job.id } }), 0, 'the checkpoint went with the end');
  await assert.rejects(second.recordStep(5, { step: 5 }, { loss: 5 }), LeaseLostError);
  await assert.rejects(second.succeed(promptOf(owner, job.id), null), LeaseLostError);
  const ended = await store.jobs.findById(null, job.id);
  assert.equal(ended?.status, 'failed');
  assert.deepEqual(ended?.error, { code: 'WORKER_LOST', message: 'stalled' });
  assert.deepEqual((await store.metrics.list(job.id, { limit: 10 })).map((m) => m.step), [1, 2, 3, 4]);
});

test('concurrent runs: of two writers racing a takeover, the older one never writes after the newer took the job', async () => {
  const job = await newJob(await newTenant());
  const first = await store.leases.acquire(job.id, 1000);
  assert.ok(first);
  let step = 0;
  let lost = false;
  const writer = (async () => {
    while (!lost) {
      step += 1;
      await first.recordStep(step, { step }, { loss: step }).catch((err: unknown) => {
        assert.ok(err instanceof LeaseLostError);
        lost = true;
      });
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const second = await store.leases.acquire(job.id, 1000);
  await writer;
  assert.ok(second);
  const rows = await store.metrics.list(job.id, { limit: 2000 });
  // The takeover dropped every row (no checkpoint); the older run wrote none after it.
  assert.deepEqual(rows, []);
});

test('metrics list in step order, filtered by split and step, as plain JSON', async () => {
  const job = await newJob(await newTenant());
  const lease = await store.leases.acquire(job.id, 20);
  assert.ok(lease);
  await lease.recordStep(10, { step: 10 }, { loss: 0.8 });
  await lease.recordEvaluation(10, { loss: 0.7, accuracy: 0.6, macroF1: 0.55 }, true);
  await lease.recordStep(20, { step: 20 }, { loss: 0.5, learningRate: 0.01, tokensPerSecond: 900 });
  await lease.recordEvaluation(20, { loss: 0.4, accuracy: 0.8 }, true);

  const all = await store.metrics.list(job.id, { limit: 10 });
  assert.deepEqual(
    all.map((m) => [m.step, m.split, m.loss]),
    [
      [10, 'train', 0.8],
      [10, 'validation', 0.7],
      [20, 'train', 0.5],
      [20, 'validation', 0.4],
    ],
  );
  assert.equal(all[1]?.macroF1, 0.55);
  assert.equal(all[0]?.accuracy, null);
  assert.doesNotThrow(() => JSON.stringify(all));
  assert.deepEqual(
    (await store.metrics.list(job.id, { split: 'validation', afterStep: 10, limit: 10 })).map((m) => m.accuracy),
    [0.8],
  );
  assert.equal((await store.metrics.list(job.id, { limit: 2 })).length, 2);
});

test('prompt tensors round-trip bit for bit, and a second create for the job returns the first', async () => {
  const owner = await newTenant();
  const job = await newJob(owner);
  const special = [0, -0, 1.401298464324817e-45, -3.4028234663852886e38, Infinity, -Infinity, Math.fround(Math.PI)];
  const random = Array.from({ length: 24 - special.length }, () => Math.fround((Math.random() - 0.5) * 1e3));
  const tensors = {
    U: tensor([4, 2], [1, 2, 3, 4, 5, 6, 7, 8]),
    V: tensor([2, 3], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
    X0: tensor([4, 3], Array.from({ length: 12 }, (_, i) => i / 7)),
    X: tensor([4, 6], [...special, ...random]),
  };
  const input = {
    tenantId: owner.tenantId,
    jobId: job.id,
    source: 'trained' as const,
    spec: { method: 'lopt2', n: 4, r: 2 },
    modelId: 'gpt2-mini',
    method: 'lopt2',
    n: 4,
    r: 2,
    activation: 'tanh',
    trainableParameters: 12,
    task: { template: '{text} It was', labelWords: { '0': ' bad', '1': ' good' } },
    metrics: { accuracy: 0.75 },
    tensors,
  };
  const created = await store.prompts.create(input);
  assert.deepEqual(created.shapes, { U: [4, 2], V: [2, 3], X0: [4, 3], X: [4, 6] });
  for (const key of ['u', 'v', 'x0', 'x']) assert.equal(key in created, false);

  const found = await store.prompts.findById(owner.tenantId, created.id);
  assert.ok(found);
  assert.deepEqual(Object.keys(found.tensors).sort(), ['U', 'V', 'X', 'X0']);
  for (const [name, expected] of Object.entries(tensors)) {
    const actual: Tensor | undefined = found.tensors[name];
    assert.ok(actual);
    assert.deepEqual(actual.shape, expected.shape);
    assert.ok(actual.data instanceof Float32Array);
    assert.deepEqual(bitsOf(actual.data), bitsOf(expected.data));
  }
  assert.deepEqual(found.task, input.task);
  assert.equal(found.activation, 'tanh');

  const retried = await store.prompts.create({ ...input, metrics: { accuracy: 0.1 }, tensors: { X: tensor([1, 1], [9]) } });
  assert.equal(retried.id, created.id);
  assert.deepEqual(retried.metrics, { accuracy: 0.75 });
  assert.deepEqual(bitsOf(retried.tensors.X!.data), bitsOf(tensors.X.data));
  assert.equal((await store.prompts.findByJobId(job.id))?.id, created.id);
  assert.equal(await store.prompts.idForJob(job.id), created.id);
  assert.equal(await prisma.prompt.count({ where: { jobId: job.id } }), 1);
});

test('a prompt without X, with an unknown tensor or a shape that does not fit is refused', async () => {
  const owner = await newTenant();
  const job = await newJob(owner);
  const base = {
    tenantId: owner.tenantId,
    jobId: job.id,
    source: 'trained' as const,
    spec: { method: 'lopt1', n: 2, r: 1 },
    modelId: 'gpt2-mini',
    method: 'lopt1',
    n: 2,
    r: 1,
    activation: null,
    trainableParameters: 4,
    task: {},
    metrics: {},
  };
  await assert.rejects(store.prompts.create({ ...base, tensors: { U: tensor([2, 1], [1, 2]) } }), /needs its materialised tensor X/);
  await assert.rejects(store.prompts.create({ ...base, tensors: { X: tensor([1, 1], [1]), W: tensor([1], [1]) } }), /"W" is not one of/);
  await assert.rejects(store.prompts.create({ ...base, tensors: { X: tensor([2, 2], [1, 2, 3]) } }), /has 3 values for shape \[2, 2\]/);
  assert.equal(await store.prompts.findByJobId(job.id), null);
  assert.equal(await store.prompts.idForJob(job.id), null);
});

test('float32 bytes are little-endian and read from any offset', () => {
  const data = Float32Array.from([1.5, -2.25, 3e-41]);
  const bytes = float32ToBytes(data);
  assert.deepEqual([...bytes.subarray(0, 4)], [0, 0, 0xc0, 0x3f]);
  const unaligned = new Uint8Array(bytes.byteLength + 1).subarray(1);
  unaligned.set(bytes);
  assert.deepEqual(bitsOf(bytesToFloat32(unaligned)), bitsOf(data));
  assert.throws(() => bytesToFloat32(new Uint8Array(5)), /not a multiple of 4/);
});

test('an id that is not a UUID finds nothing instead of failing', async () => {
  const { tenantId } = await newTenant();
  for (const id of ['nope', '', "1' OR '1'='1", `${randomUUID()}x`]) {
    assert.equal(await store.datasets.findById(tenantId, id), null);
    assert.equal(await store.datasets.content(null, id), null);
    assert.equal(await store.jobs.findById(tenantId, id), null);
    assert.equal(await store.jobs.findById(null, id), null);
    assert.equal(await store.jobs.requestCancel(tenantId, id), null);
    assert.equal(await store.leases.acquire(id, 1), null);
    assert.equal(await store.jobs.endUnfinished(id, 'failed', { code: 'X', message: 'x' }), false);
    assert.equal(await store.prompts.findById(tenantId, id), null);
    assert.equal(await store.prompts.findByJobId(id), null);
    assert.deepEqual(await store.metrics.list(id, { limit: 5 }), []);
  }
});
