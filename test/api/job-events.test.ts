/**
 * A job's events through real HTTP, two API replicas on one PostgreSQL and Redis, and a worker
 * process: an SSE client on the replica that did not take the job sees its events live from
 * `queued` to `succeeded`; a client that drops mid-job reconnects on the other replica with
 * Last-Event-ID and gets the rest, none lost or repeated; both are the list endpoint's events.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { connectApiDeps } from '../../src/api/build-deps.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { assertMatchesSpec } from '../helpers/openapi-responses.js';
import { startTestService, tinySentimentJob, type TestService } from '../helpers/service.js';

interface SseEvent {
  id: string;
  event: string;
  data: Record<string, any>;
}

let service: TestService;
let replica: { app: FastifyInstance; close(): Promise<void> };
let key: string;
const urls: { a: string; b: string } = { a: '', b: '' };

const EXAMPLES = Array.from({ length: 24 }, (_, i) => ({ text: i % 2 ? `a fine film, number ${i}` : `a dull mess, number ${i}`, label: String(i % 2) }));
const job = (steps: number) => tinySentimentJob('', { datasetId: undefined, examples: EXAMPLES, hyperparameters: { maxSteps: steps, batchSize: 4, evalEvery: 10 }, validationFraction: 0.25 });

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** The events of an SSE response, as they arrive; stops at the end of the stream or when `stop` says so. */
async function readEvents(url: string, headers: Record<string, string>, stop: (event: SseEvent) => boolean = () => false): Promise<{ events: SseEvent[]; ended: boolean }> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', ...headers }, signal: controller.signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return { events, ended: true };
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(block.split('\n').filter((line) => !line.startsWith(':')).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
      if (!fields.data) continue; // a keep-alive comment
      const event = { id: fields.id ?? '', event: fields.event ?? 'message', data: JSON.parse(fields.data) };
      events.push(event);
      if (stop(event)) {
        controller.abort();
        await reader.cancel().catch(() => undefined);
        return { events, ended: false };
      }
    }
  }
}

/** Every event of the job from the list endpoint, page by page, each page checked against the spec. */
async function listedEvents(jobId: string): Promise<Array<Record<string, any>>> {
  const all: Array<Record<string, any>> = [];
  for (let afterId = 0; ; ) {
    const { status, body } = await service.call(key, 'GET', `/v1/jobs/${jobId}/events?limit=5&after=${afterId}`, '/v1/jobs/{id}/events');
    assert.equal(status, 200);
    all.push(...body.data);
    if (!body.has_more) return all;
    afterId = Number(body.data.at(-1).id);
  }
}

const submit = async (steps: number) => {
  const { status, body } = await service.call(key, 'POST', '/v1/jobs', '/v1/jobs', job(steps));
  assert.equal(status, 202, JSON.stringify(body));
  return body.id as string;
};
const statuses = (events: SseEvent[]) => events.filter((e) => e.data.data?.status).map((e) => e.data.data.status);
const assertConsecutive = (ids: string[]) => assert.deepEqual(ids, ids.map((_, i) => String(i + 1)));

before(async () => {
  service = await startTestService({ LOPT_CHECKPOINT_EVERY: '5' });
  key = await service.newKey('events');
  // A second API replica: its own connections to the same database and queue.
  const deps = await connectApiDeps(loadConfig(service.env), createLogger('silent'));
  replica = { app: await buildApp(createLogger('silent'), deps.deps), close: deps.close };
  urls.a = await listen(service.app);
  urls.b = await listen(replica.app);
});
after(async () => {
  await replica.app.close();
  await replica.close();
  await service.close();
});

test('an SSE client on the other replica sees the job live from queued to succeeded, and the list has the same events', { timeout: 300_000 }, async () => {
  const jobId = await submit(20);
  const watching = readEvents(`${urls.b}/v1/jobs/${jobId}/events`, {});
  service.startWorker({ LOPT_CHECKPOINT_EVERY: '5' });
  const { events, ended } = await watching;
  assert.ok(ended, 'the stream ends after the final event');
  assertConsecutive(events.map((e) => e.id));
  assert.deepEqual(statuses(events), ['queued', 'running', 'succeeded']);
  for (const event of events) assertMatchesSpec('GET', '/v1/jobs/{id}/events', 200, { object: 'list', data: [event.data], has_more: false });
  assert.deepEqual(events.map((e) => e.event), events.map((e) => e.data.type));
  const metrics = events.filter((e) => e.data.type === 'metrics').map((e) => [e.data.data.split, e.data.data.step]);
  assert.deepEqual(metrics, [['train', 10], ['validation', 10], ['train', 20], ['validation', 20]]);
  assert.deepEqual(events.filter((e) => /^checkpoint saved/.test(e.data.message)).map((e) => e.data.data.step), [5, 10, 15, 20]);
  assert.deepEqual(await listedEvents(jobId), events.map((e) => e.data));

  const { body: checkpoints } = await service.call(key, 'GET', `/v1/jobs/${jobId}/checkpoints`, '/v1/jobs/{id}/checkpoints');
  assert.deepEqual(checkpoints.items.map((c: { step: number }) => c.step), [5, 10, 15, 20]);
  assert.equal(typeof checkpoints.items[0].metrics.trainLoss, 'number');
  assert.equal(checkpoints.items[1].metrics.validation.step, 10);

  // A stream of an ended job sends its log and ends at once.
  const replay = await readEvents(`${urls.a}/v1/jobs/${jobId}/events?stream=true`, { accept: '*/*' });
  assert.deepEqual(replay.events.map((e) => e.data), events.map((e) => e.data));
});

test('a client that drops mid-job reconnects on the other replica with Last-Event-ID: nothing lost, nothing repeated', { timeout: 300_000 }, async () => {
  const jobId = await submit(30);
  const first = await readEvents(`${urls.b}/v1/jobs/${jobId}/events`, {}, (e) => e.data.type === 'metrics');
  assert.equal(first.ended, false);
  const lastSeen = first.events.at(-1)!.id;
  const rest = await readEvents(`${urls.a}/v1/jobs/${jobId}/events`, { 'last-event-id': lastSeen });
  assert.ok(rest.ended);
  const all = [...first.events, ...rest.events];
  assertConsecutive(all.map((e) => e.id));
  assert.equal(statuses(all).at(-1), 'succeeded');
  assert.deepEqual(await listedEvents(jobId), all.map((e) => e.data));
  // `after` resumes the same way, and a bad Last-Event-ID is refused.
  const fromAfter = await readEvents(`${urls.b}/v1/jobs/${jobId}/events?after=${lastSeen}`, {});
  assert.deepEqual(fromAfter.events.map((e) => e.id), rest.events.map((e) => e.id));
  const bad = await fetch(`${urls.a}/v1/jobs/${jobId}/events`, { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', 'last-event-id': 'yesterday' } });
  assert.equal(bad.status, 400);
});

test("another tenant's job has no events for this key, and a cancelled job's stream ends with its cancellation", async () => {
  const other = await service.newKey('other');
  const jobId = await submit(5_000);
  const foreign = await service.call(other, 'GET', `/v1/jobs/${jobId}/events`, '/v1/jobs/{id}/events');
  assert.equal(foreign.status, 404);
  const watching = readEvents(`${urls.a}/v1/jobs/${jobId}/events`, {});
  await service.call(key, 'POST', `/v1/jobs/${jobId}/cancel`, '/v1/jobs/{id}/cancel');
  const { events, ended } = await watching;
  assert.ok(ended);
  assert.equal(statuses(events).at(-1), 'cancelled');
});
