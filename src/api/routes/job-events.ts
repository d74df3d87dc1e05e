/**
 * A job's events, as a list in OpenAI's fine-tuning shape or live as Server-Sent Events, and the
 * checkpoints it saved. A stream sends the log from where the client is (`after`, or the
 * `Last-Event-ID` its reconnect carries), then waits for more: woken by the Redis notice any
 * process publishes when it commits events (any replica's streams hear it), or by its own poll,
 * and reading the log in PostgreSQL each time, so nothing is lost or sent twice. It ends after
 * the job's final event.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JobEventRow } from '../../db/job-events.js';
import type { ApiDeps } from '../api-deps.js';
import { ApiError, notFound } from '../api-error.js';
import { openEventStream, wantsStream } from '../event-stream.js';
import { errors, IdParamsSchema } from '../schemas/common.js';
import { CheckpointListSchema, JobEventListSchema, JobEventsQuerySchema } from '../schemas/job-events.js';

type EventsQuery = { after?: number; limit?: number; stream?: boolean };

/** A stream with nothing new reads the log again after this long, in case a notice was lost. */
const POLL_MS = 2000;
/** An idle stream sends a comment this often, so proxies and clients keep the connection. */
const HEARTBEAT_MS = 15_000;
const PAGE = 100;
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

const eventView = (jobId: string) => (event: JobEventRow) => ({
  id: String(event.seq),
  object: 'job.event',
  job_id: jobId,
  created_at: Math.floor(event.createdAt.getTime() / 1000),
  level: event.level,
  type: event.type,
  message: event.message,
  data: event.data ?? null,
});

const isFinal = (event: JobEventRow) => FINAL.has((event.data as { status?: string } | null)?.status ?? '');

/** Where a stream starts: the reconnect's Last-Event-ID, else `after`, else the beginning. */
function resumePoint(request: FastifyRequest, after: number | undefined): number {
  const header = request.headers['last-event-id'];
  if (header === undefined) return after ?? 0;
  if (typeof header !== 'string' || !/^\d{1,9}$/.test(header)) throw new ApiError(400, 'VALIDATION_FAILED', 'Last-Event-ID must be the id of an event (an integer)');
  return Number(header);
}

export async function jobEventRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }): Promise<void> {
  const { store, jobEvents } = deps;
  let openStreams = 0;

  async function findJob(tenantId: string, id: string) {
    const job = await store.jobs.findById(tenantId, id);
    if (!job) throw notFound('job', id);
    return job;
  }

  async function stream(request: FastifyRequest, reply: FastifyReply, jobId: string, from: number): Promise<void> {
    if (openStreams >= deps.maxEventStreams) throw new ApiError(503, 'STREAMS_BUSY', `this replica holds ${deps.maxEventStreams} event streams already; poll GET /v1/jobs/{id}/events or retry`);
    openStreams += 1;
    const closed = new AbortController();
    request.raw.on('close', () => closed.abort());
    const out = openEventStream(reply);
    const view = eventView(jobId);
    let last = from;
    let lastWrite = Date.now();
    try {
      for (;;) {
        if (closed.signal.aborted) return;
        const page = await store.jobEvents.list(jobId, { after: last, limit: PAGE });
        for (const event of page.items) {
          out.send(event.type, view(event), event.seq);
          last = event.seq;
          lastWrite = Date.now();
          if (isFinal(event)) return;
        }
        if (page.hasMore) continue;
        // A deleted job's log is gone with it: say so and end.
        if (!(await store.jobs.findById(null, jobId))) {
          out.send('error', { code: 'NOT_FOUND', message: `job ${jobId} was deleted` });
          return;
        }
        if (Date.now() - lastWrite >= HEARTBEAT_MS) {
          out.comment('keep-alive');
          lastWrite = Date.now();
        }
        await jobEvents.wait(jobId, POLL_MS, closed.signal);
      }
    } catch (err) {
      // The store went away mid-stream: the client reconnects with Last-Event-ID and misses nothing.
      request.log.warn({ err, jobId }, 'an event stream ended early');
      if (!closed.signal.aborted) out.send('error', { code: 'STREAM_INTERRUPTED', message: 'the event log could not be read; reconnect with Last-Event-ID' });
    } finally {
      openStreams -= 1;
      out.end();
    }
  }

  app.get<{ Params: { id: string }; Querystring: EventsQuery }>(
    '/v1/jobs/:id/events',
    { schema: { tags: ['jobs'], params: IdParamsSchema, querystring: JobEventsQuerySchema, response: { 200: JobEventListSchema, ...errors(400, 401, 404, 503) } } },
    async (request, reply) => {
      const job = await findJob(request.tenantId, request.params.id);
      const { after, limit = 20, stream: streamed } = request.query;
      if (wantsStream(request, streamed)) return stream(request, reply, job.id, resumePoint(request, after));
      const page = await store.jobEvents.list(job.id, { after: after ?? 0, limit });
      return { object: 'list', data: page.items.map(eventView(job.id)), has_more: page.hasMore };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id/checkpoints',
    { schema: { tags: ['jobs'], params: IdParamsSchema, response: { 200: CheckpointListSchema, ...errors(401, 404) } } },
    async (request) => {
      const job = await findJob(request.tenantId, request.params.id);
      const items = await store.checkpoints.list(job.id);
      return { items: items.map(({ step, metrics, createdAt }) => ({ step, metrics, createdAt: createdAt.toISOString() })) };
    },
  );
}
