/**
 * Dataset uploads over real HTTP (a listening socket: `inject` would hand the body over whole):
 * limits, a full pool, clients that leave mid-upload, and the event loop kept free meanwhile.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertMatchesSpec } from '../helpers/openapi-responses.js';
import { healthz } from '../helpers/process-probes.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { DATASETS_DIR } from '../helpers/shared.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: { error?: { code: string; message: string; details?: unknown }; rowCount?: number };
}

interface Listening {
  service: TestService;
  port: number;
  key: string;
}

async function listening(env: NodeJS.ProcessEnv): Promise<Listening> {
  const service = await startTestService(env);
  await service.app.listen({ host: '127.0.0.1', port: 0 });
  return { service, port: (service.app.server.address() as { port: number }).port, key: await service.newKey('uploads') };
}

/**
 * POST /v1/datasets on a connection of its own. `length` is the Content-Length to declare (none:
 * chunked); the caller writes the body and ends it, so it can send it slowly or not at all.
 */
function upload({ port, key }: Listening, query: string, contentType: string, length?: number): { req: ClientRequest; answer: Promise<Answer> } {
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': contentType };
  if (length === undefined) headers['transfer-encoding'] = 'chunked';
  else headers['content-length'] = String(length);
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: `/v1/datasets?${query}`, headers, agent: false });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    // Writing after the server answered and closed is the client's problem, not an answer.
    req.on('error', (err) => setTimeout(() => reject(err), 1000));
  });
  return { req, answer };
}

function send(target: Listening, query: string, contentType: string, body: string | Buffer, { chunked = false } = {}): Promise<Answer> {
  const bytes = Buffer.from(body);
  const { req, answer } = upload(target, query, contentType, chunked ? undefined : bytes.length);
  req.end(bytes);
  return answer;
}

function assertRefused(answer: Answer, status: number, code: string, message?: RegExp): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.equal(answer.body.error?.code, code);
  if (message) assert.match(answer.body.error!.message, message);
  assertMatchesSpec('post', '/v1/datasets', status, answer.body);
}

async function threadsEnd({ service }: Listening): Promise<void> {
  for (let waited = 0; service.deps.uploadParsers.liveThreads > 0; waited += 20) {
    assert.ok(waited < 5000, `${service.deps.uploadParsers.liveThreads} parse threads alive 5 s on`);
    await sleep(20);
  }
}

/** Small limits, one parse thread and no queue. */
let small: Listening;
before(async () => {
  small = await listening({
    LOPT_MAX_UPLOAD_BYTES: String(64 * 1024),
    LOPT_MAX_UPLOAD_ROWS: '3',
    LOPT_MAX_UPLOAD_FIELDS: '3',
    LOPT_MAX_UPLOAD_LINE_BYTES: '1024',
    LOPT_UPLOAD_THREADS: '1',
    LOPT_UPLOAD_QUEUE: '0',
  });
});
after(() => small.service.close());

test('uploads past the limits on rows, fields, line length and bytes are refused with 413 and the limit; bad ones with 400', async () => {
  const ok = await send(small, 'name=ok', 'text/csv', 'text,label\na,1\nb,0\nc,1\n');
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(ok.body.rowCount, 3);
  assertMatchesSpec('post', '/v1/datasets', 201, ok.body);

  const rows = await send(small, 'name=rows', 'text/csv', 'text,label\na,1\nb,0\nc,1\nd,0\n');
  assertRefused(rows, 413, 'DATASET_TOO_LARGE', /^rows line 5: more than 3 rows \(the limit\)$/);
  assert.deepEqual(rows.body.error!.details, { limit: 'maxRows', max: 3, line: 5 });
  const fields = await send(small, 'name=fields', 'application/x-ndjson', '{"a":1,"b":2,"c":3}\n{"a":1,"b":2,"c":3,"d":4}\n');
  assertRefused(fields, 413, 'DATASET_TOO_LARGE', /^fields line 2: more than 3 fields in a row/);
  const line = await send(small, 'name=line', 'text/tab-separated-values', `text\tlabel\n${'x'.repeat(2000)}\t1\n`);
  assertRefused(line, 413, 'DATASET_TOO_LARGE', /^line line 2: a line longer than 1024 bytes/);

  const big = `text\n${'x,'.repeat(40 * 1024)}\n`;
  const declared = await send(small, 'name=big', 'text/csv', big);
  assertRefused(declared, 413, 'FST_ERR_CTP_BODY_TOO_LARGE');
  assert.equal(declared.headers.connection, 'close');
  assertRefused(await send(small, 'name=big', 'text/csv', big, { chunked: true }), 413, 'FST_ERR_CTP_BODY_TOO_LARGE', /larger than 65536 bytes/);

  assertRefused(await send(small, 'name=bad', 'text/csv', 'a,b\n1,"open\n'), 400, 'DATASET_INVALID', /^bad line 2: Quote Not Closed/);
  assertRefused(await send(small, 'name=empty', 'text/csv', '', { chunked: true }), 400, 'DATASET_INVALID', /the upload is empty/);
  await threadsEnd(small);
});

test('while every parse thread is busy and the queue full, an upload is answered 503 UPLOADS_BUSY with Retry-After', async () => {
  const body = Buffer.from('text,label\na,1\nb,0\n');
  const slow = upload(small, 'name=slow', 'text/csv', body.length);
  slow.req.write(body.subarray(0, 8));
  await waitFor(() => small.service.deps.uploadParsers.liveThreads === 1);
  const busy = await send(small, 'name=busy', 'text/csv', body);
  assertRefused(busy, 503, 'UPLOADS_BUSY');
  assert.equal(busy.headers['retry-after'], '5');
  slow.req.end(body.subarray(8));
  assert.equal((await slow.answer).status, 201);
  assert.equal((await send(small, 'name=after', 'text/csv', body)).status, 201);
  await threadsEnd(small);
});

test('a client that disconnects mid-upload leaves no parse thread, and the next upload gets the thread', async () => {
  const body = Buffer.from(`text,label\n${'a,1\n'.repeat(2)}`);
  const leaving = upload(small, 'name=leaving', 'text/csv', body.length + 1000);
  leaving.answer.catch(() => undefined);
  leaving.req.write(body);
  await waitFor(() => small.service.deps.uploadParsers.liveThreads === 1);
  leaving.req.destroy();
  await threadsEnd(small);
  assert.equal(small.service.deps.uploadParsers.waiting, 0);
  const next = await send(small, 'name=next', 'text/csv', body);
  assert.equal(next.status, 201, JSON.stringify(next.body));
});

test('/healthz answers within 200 ms while several multi-MiB uploads are parsed', async (t) => {
  const target = await listening({});
  try {
    const [header, ...rows] = readFileSync(join(DATASETS_DIR, 'ag_news/train.csv'), 'utf8').trimEnd().split('\n');
    const lines = [header!];
    for (let i = 0, size = 0; size < 2 * 1024 * 1024; i++) {
      lines.push(rows[i % rows.length]!);
      size += lines.at(-1)!.length + 1;
    }
    const body = `${lines.join('\n')}\n`;
    const latencies: number[] = [];
    let uploading = true;
    const probing = (async () => {
      while (uploading) {
        latencies.push(await healthz(target.port));
        await sleep(20);
      }
    })();
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 3 }, (_, i) => send(target, `name=big${i}&preset=ag_news`, 'text/csv', body)));
    const uploadMs = performance.now() - started;
    uploading = false;
    await probing;
    for (const answer of answers) {
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      assert.equal(answer.body.rowCount, lines.length - 1);
    }
    assert.ok(latencies.length >= 10, `only ${latencies.length} probes in ${uploadMs.toFixed(0)} ms of uploads`);
    const slowest = Math.max(...latencies);
    t.diagnostic(`3 uploads of ${(body.length / 1024 / 1024).toFixed(1)} MiB in ${uploadMs.toFixed(0)} ms; /healthz at most ${slowest.toFixed(0)} ms over ${latencies.length} probes`);
    assert.ok(slowest < 200, `/healthz took up to ${slowest.toFixed(0)} ms (${latencies.length} probes in ${uploadMs.toFixed(0)} ms of uploads)`);
    await threadsEnd(target);
  } finally {
    await target.service.close();
  }
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    assert.ok(waited < 5000, 'not within 5 s');
    await sleep(10);
  }
}
