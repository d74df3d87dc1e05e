/**
 * The queue board (Bull Board) under the API: off without an admin key; with one, only that key
 * opens it (HTTP Basic, so a browser asks, or Bearer), never a tenant's key, and it shows the
 * train queue's jobs.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestService, tinySentimentJob, type TestService } from '../helpers/service.js';

const ADMIN_KEY = 'an-admin-key-of-enough-length-0123';
let board: TestService;
let key: string;

before(async () => {
  board = await startTestService({ LOPT_ADMIN_KEY: ADMIN_KEY, LOPT_QUEUE_BOARD_PATH: '/ops/queues' });
  key = await board.newKey('tenant');
});
after(() => board.close());

const get = (service: TestService, url: string, authorization?: string) =>
  service.app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} });
const basic = (password: string) => `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;

test('without an admin key there is no board', async () => {
  const plain = await startTestService();
  try {
    assert.equal((await get(plain, '/admin/queues')).statusCode, 404);
  } finally {
    await plain.close();
  }
});

test('only the admin key opens the board, which shows the queued job', async () => {
  const refused = await get(board, '/ops/queues');
  assert.equal(refused.statusCode, 401);
  assert.match(refused.headers['www-authenticate'] as string, /^Basic realm="lopt queue board"/);
  assert.equal(refused.json().error.code, 'UNAUTHENTICATED');
  assert.equal((await get(board, '/ops/queues', `Bearer ${key}`)).statusCode, 401, "a tenant's key does not open it");
  assert.equal((await get(board, '/ops/queues', basic('wrong'))).statusCode, 401);

  const page = await get(board, '/ops/queues', basic(ADMIN_KEY));
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /text\/html/);
  assert.match(page.body, /lopt-service queue/);

  const datasetId = await board.uploadTinyDataset(key);
  const { body: job } = await board.call(key, 'POST', '/v1/jobs', '/v1/jobs', tinySentimentJob(datasetId));
  const queues = await get(board, '/ops/queues/api/queues?activeQueue=train&status=waiting&page=1', `Bearer ${ADMIN_KEY}`);
  assert.equal(queues.statusCode, 200, queues.body);
  const train = queues.json().queues.find((q: { name: string }) => q.name === 'train');
  assert.ok(train, JSON.stringify(queues.json()).slice(0, 500));
  assert.ok(train.jobs.some((j: { id: string }) => j.id === job.id), 'the board lists the queued job');
});
