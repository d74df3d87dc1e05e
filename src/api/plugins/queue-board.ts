/**
 * BullMQ's Bull Board, mounted under the API at `path` for operators: the train queue's jobs by
 * state, their data, progress and failures, with retry and remove. Only the deployment's admin
 * key opens it (HTTP Basic with the key as the password, so a browser asks for it, or
 * `Authorization: Bearer <admin key>`); a tenant's API key never does. Off unless an admin key
 * is configured.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from '../errors.js';

const digest = (secret: string) => createHash('sha256').update(secret).digest();

/** The secret a request offers: a Bearer token, or a Basic password. */
function offeredSecret(header: string | undefined): string | undefined {
  const [scheme, value] = (header ?? '').split(/ +/, 2);
  if (!scheme || !value) return undefined;
  if (/^bearer$/i.test(scheme)) return value;
  if (!/^basic$/i.test(scheme)) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  return decoded.slice(decoded.indexOf(':') + 1);
}

export async function queueBoard(app: FastifyInstance, { queue, path, adminKey }: { queue: Queue; path: string; adminKey: string }): Promise<void> {
  const expected = digest(adminKey);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const offered = offeredSecret(request.headers.authorization);
    if (offered !== undefined && timingSafeEqual(digest(offered), expected)) return;
    // Answered here, in the API's error shape: the board's own error handler would reshape a thrown error.
    return reply
      .code(401)
      .header('www-authenticate', 'Basic realm="lopt queue board", charset="UTF-8"')
      .type('application/json; charset=utf-8')
      .send(errorBody('UNAUTHENTICATED', 'the queue board takes the admin key (LOPT_ADMIN_KEY), as the password of HTTP Basic or as a Bearer token'));
  });
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(path);
  createBullBoard({ queues: [new BullMQAdapter(queue, { readOnlyMode: false })], serverAdapter, options: { uiConfig: { boardTitle: 'lopt-service queue' } } });
  await app.register(serverAdapter.registerPlugin(), { prefix: path });
}
