/**
 * What Node's HTTP parser and Fastify refuse before a route runs still answers in the documented
 * error body. Sent over a real socket (the app listening on a free port), since inject passes by
 * Node's parser and normalises URLs. Also: a request that needs a key, or that matches no route,
 * is answered before its body is read (the body is announced and never sent).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { startTestService, type TestService } from '../helpers/service.js';

let service: TestService;
let key: string;
let port: number;

before(async () => {
  service = await startTestService();
  key = await service.newKey('transport');
  await service.app.listen({ port: 0, host: '127.0.0.1' });
  port = (service.app.server.address() as AddressInfo).port;
});
after(() => service.close());

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes `request` as it is and reads the first answer; fails if none comes within `ms`. */
function raw(request: string | Buffer, ms = 5000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${ms} ms; got ${JSON.stringify(received.toString('latin1').slice(0, 200))}`));
    }, ms);
    const finish = () => {
      const text = received.toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return false;
      const [statusLine, ...headerLines] = text.slice(0, split).split('\r\n');
      const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      const body = text.slice(split + 4);
      if (headers['content-length'] !== undefined && Buffer.byteLength(body) < Number(headers['content-length'])) return false;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body });
      return true;
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      finish();
    });
    socket.on('error', () => undefined); // the server may close first; what it sent is what counts
    socket.on('close', () => {
      if (!finish()) {
        clearTimeout(timer);
        reject(new Error(`closed without an answer; got ${JSON.stringify(received.toString('latin1').slice(0, 200))}`));
      }
    });
    socket.write(request);
  });
}

function assertErrorBody(answer: RawAnswer, status: number, code: string | RegExp) {
  assert.equal(answer.status, status, answer.body);
  assert.match(answer.headers['content-type'] ?? '', /^application\/json/);
  const body = JSON.parse(answer.body) as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(typeof body.error.message, 'string');
  if (typeof code === 'string') assert.equal(body.error.code, code);
  else assert.match(body.error.code, code);
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n${extra}\r\n`;

test('Node refusals: headers too large (431) and requests that are not HTTP (400) get the error body', async () => {
  assertErrorBody(await raw(get('/v1/models', `X-Big: ${'a'.repeat(20_000)}\r\n`)), 431, 'HEADERS_TOO_LARGE');
  assertErrorBody(await raw('GET /v1/models HTTP/1.1\r\nHost: x\r\nNot a header\r\n\r\n'), 400, 'MALFORMED_REQUEST');
  assertErrorBody(await raw('\u0000\u0001\u0002 nonsense\r\n\r\n'), 400, 'MALFORMED_REQUEST');
  assertErrorBody(await raw('GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Nul: a\u0000b\r\n\r\n'), 400, 'MALFORMED_REQUEST');
  assertErrorBody(await raw('POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n'), 400, 'MALFORMED_REQUEST');
});

test('Fastify refusals: an undecodable URL, an over-long id, and bodies that are not what they say get the error body', async () => {
  assertErrorBody(await raw(get('/v1/jobs/%zz')), 400, 'FST_ERR_BAD_URL');
  assertErrorBody(await raw(get('/v1/jobs/%E0%A4%A')), 400, 'FST_ERR_BAD_URL');
  assertErrorBody(await raw(get(`/v1/jobs/${'a'.repeat(101)}`)), 414, 'FST_ERR_MAX_PARAM_LENGTH');
  assertErrorBody(await raw(get(`/v1/jobs/${'a'.repeat(100)}`)), 404, 'NOT_FOUND');
  const post = (type: string, body: string) => `POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  assertErrorBody(await raw(post('application/json', '{"model":')), 400, 'FST_ERR_CTP_INVALID_JSON_BODY');
  assertErrorBody(await raw(post('application/json', '')), 400, 'FST_ERR_CTP_EMPTY_JSON_BODY');
  assertErrorBody(await raw(post('application/json', '{"__proto__":{"x":1}}')), 400, /^FST_ERR_CTP_|VALIDATION_FAILED/);
  assertErrorBody(await raw(post('application/xml', '<job/>')), 415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE');
  assertErrorBody(await raw(post('application/json', JSON.stringify({ x: 'a'.repeat(1_100_000) }))), 413, 'FST_ERR_CTP_BODY_TOO_LARGE');
});

test('raw paths the router does not normalise (dot segments, doubled slashes) match no route: 404, never a route without its key', async () => {
  for (const path of ['/v1/./models', '/v2/../v1/models', '//v1/models', '/v1//models', '/V1/models', '/v1/models/']) {
    assertErrorBody(await raw(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`), 404, 'NOT_FOUND');
  }
  assertErrorBody(await raw('GET /%761/models HTTP/1.1\r\nHost: x\r\n\r\n'), 401, 'UNAUTHENTICATED');
  assert.equal((await raw(get('/%761/models'))).status, 200);
});

test('a request without a key, or for no route, is answered before its body is read', async () => {
  const announced = (method: string, path: string, headers = '') =>
    `${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: ${20 * 1024 * 1024}\r\n${headers}\r\ntext,label\n`;
  // The body never comes: an answer at all shows that nothing waited for it.
  assertErrorBody(await raw(announced('POST', '/%761/datasets')), 401, 'UNAUTHENTICATED');
  assertErrorBody(await raw(announced('POST', '/v1/datasets')), 401, 'UNAUTHENTICATED');
  assertErrorBody(await raw(announced('POST', '/v1/datasets', 'Authorization: Bearer lopt_unknown\r\n')), 401, 'UNAUTHENTICATED');
  assertErrorBody(await raw(announced('POST', '/v1/nope', `Authorization: Bearer ${key}\r\n`)), 404, 'NOT_FOUND');
  assertErrorBody(await raw(announced('PUT', '/v1/jobs')), 404, 'NOT_FOUND');
});
