import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { canonicalRows, StoredRowsWriter } from '../../src/datasets/stored-dataset.js';
import { parseDataset } from '../../src/engine/datasets/parse-dataset.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { createUploadParsers, UploadRefused, type UploadParsers, type UploadRefusalReason, type UploadSettings } from '../../src/uploads/upload-parsers.js';
import { DATASETS_DIR } from '../helpers/shared.js';

const SETTINGS: UploadSettings = {
  maxUploadBytes: 1024 * 1024,
  maxUploadRows: 10_000,
  maxUploadFields: 10,
  maxUploadLineBytes: 64 * 1024,
  uploadThreads: 1,
  uploadQueue: 1,
  uploadTimeoutMs: 20_000,
};
const pools: UploadParsers[] = [];
const pool = (settings: Partial<UploadSettings> = {}) => {
  const parsers = createUploadParsers({ ...SETTINGS, ...settings });
  pools.push(parsers);
  return parsers;
};
after(() => Promise.all(pools.map((parsers) => parsers.close())));

/** A body whose bytes the test pushes when it wants, as a slow client sends them. */
const heldBody = (first: string) => {
  const body = new Readable({ read() {} });
  body.push(first);
  return body;
};

function refused(reason: UploadRefusalReason, message?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof UploadRefused, String(err));
    assert.equal(err.reason, reason, err.message);
    if (message) assert.match(err.message, message);
    return true;
  };
}

async function threadsEnd(parsers: UploadParsers): Promise<void> {
  for (let waited = 0; parsers.liveThreads > 0; waited += 20) {
    assert.ok(waited < 5000, `${parsers.liveThreads} parse threads still alive after 5 s`);
    await sleep(20);
  }
}

test('an upload is read in a thread into the rows parseDataset reads, with its SHA-256 and size; the thread ends', async () => {
  const parsers = pool();
  const bytes = readFileSync(join(DATASETS_DIR, 'ag_news/dev.csv'));
  const read = { ...TASK_CATALOG.ag_news.reading, source: 'agnews' };
  // In pieces of 4 KiB, as a socket delivers them.
  const parsed = await parsers.parse(Readable.from(Array.from({ length: Math.ceil(bytes.length / 4096) }, (_, i) => bytes.subarray(i * 4096, (i + 1) * 4096))), read);
  const rows = parseDataset(bytes.toString('utf8'), read);
  assert.equal(parsed.rowCount, rows.length);
  assert.equal(parsed.sizeBytes, bytes.length);
  assert.equal(parsed.sha256, createHash('sha256').update(bytes).digest('hex'));
  assert.deepEqual(Buffer.from(parsed.content), canonicalRows(rows));
  await threadsEnd(parsers);
});

test('the stored-rows writer writes what canonicalRows writes, across its pieces', () => {
  const rows = Array.from({ length: 5000 }, (_, i) => ({ line: i + 1, fields: { text: `row ${i} ✓ "quoted"`, label: String(i % 3) } }));
  const writer = new StoredRowsWriter();
  for (const row of rows) writer.add(row);
  const content = writer.finish();
  assert.deepEqual(Buffer.from(content), canonicalRows(rows));
  assert.equal(writer.byteLength, content.length);
});

test('past the running threads and the queue, an upload is refused as busy; a waiting one runs when a thread frees', async () => {
  const parsers = pool({ uploadThreads: 1, uploadQueue: 1 });
  const first = heldBody('a,b\n1,2\n');
  const running = parsers.parse(first, { format: 'csv' });
  const waiting = parsers.parse(Readable.from([Buffer.from('a,b\n3,4\n5,6\n')]), { format: 'csv' });
  await assert.rejects(parsers.parse(Readable.from([Buffer.from('a\n1\n')]), { format: 'csv' }), refused('busy', /1 uploads are being parsed and 1 are waiting/));
  assert.equal(parsers.waiting, 1);
  first.push(null);
  assert.equal((await running).rowCount, 1);
  assert.equal((await waiting).rowCount, 2);
  assert.equal(parsers.waiting, 0);
  await threadsEnd(parsers);
});

test('a client that goes away mid-upload, or while waiting, leaves no thread behind and frees its place', async () => {
  const parsers = pool({ uploadThreads: 1, uploadQueue: 1 });
  const leaving = heldBody('a,b\n1,2\n');
  const running = parsers.parse(leaving, { format: 'csv' });
  const queuedBody = heldBody('a,b\n');
  const queued = parsers.parse(queuedBody, { format: 'csv' });
  await sleep(100);
  queuedBody.destroy();
  await assert.rejects(queued, refused('aborted', /while its upload waited/));
  assert.equal(parsers.waiting, 0);
  assert.equal(parsers.liveThreads, 1);
  leaving.destroy(new Error('aborted'));
  await assert.rejects(running, refused('aborted', /mid-upload/));
  await threadsEnd(parsers);
  // Its place is free again.
  assert.equal((await parsers.parse(Readable.from([Buffer.from('{"a":1}\n')]), { format: 'jsonl' })).rowCount, 1);
});

test('invalid content, limits, oversized and empty bodies are refused, each thread ending', async () => {
  const parsers = pool({ uploadThreads: 2, maxUploadBytes: 4096, maxUploadRows: 2 });
  const body = (text: string) => Readable.from([Buffer.from(text)]);
  await assert.rejects(parsers.parse(body('{"a":1}\n{oops\n'), { format: 'jsonl', source: 'up' }), refused('invalid', /^up line 2: not valid JSON/));
  await assert.rejects(parsers.parse(body('a\n1\n2\n3\n'), { format: 'csv', source: 'up' }), (err: unknown) => {
    refused('too-large', /^up line 4: more than 2 rows \(the limit\)$/)(err);
    assert.deepEqual((err as UploadRefused).details, { limit: 'maxRows', max: 2, line: 4 });
    return true;
  });
  await assert.rejects(parsers.parse(body(`a\n${'x'.repeat(5000)}\n`), { format: 'csv' }), refused('body-too-large', /larger than 4096 bytes/));
  await assert.rejects(parsers.parse(body(''), { format: 'csv' }), refused('invalid', /the upload is empty/));
  await threadsEnd(parsers);
});

test('stored rows past three times the largest upload are refused', async () => {
  // One-character cells under long column names: each stored row repeats the names.
  const names = Array.from({ length: 4 }, (_, i) => `column_with_a_long_name_${i}`);
  const text = `${names.join(',')}\n${'1,2,3,4\n'.repeat(400)}`;
  const parsers = pool({ maxUploadBytes: 4096 });
  assert.ok(text.length < 4096);
  await assert.rejects(parsers.parse(Readable.from([Buffer.from(text)]), { format: 'csv', source: 'up' }), (err: unknown) => {
    refused('too-large', /^up line \d+: its rows take more than 12288 bytes stored \(the limit\)$/)(err);
    assert.equal((err as UploadRefused).details && (err as { details: { limit: string } }).details.limit, 'maxStoredBytes');
    return true;
  });
  await threadsEnd(parsers);
});

test('an upload that does not arrive within the timeout is refused and its thread ended', async () => {
  const parsers = pool({ uploadTimeoutMs: 300 });
  const stalled = heldBody('a,b\n1,');
  await assert.rejects(parsers.parse(stalled, { format: 'csv' }), refused('timeout', /within 300 ms/));
  await threadsEnd(parsers);
  stalled.destroy();
});
