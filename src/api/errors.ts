import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isStoreUnavailable } from '../db/store-unavailable.js';
import { EngineError } from '../engine/engine-error.js';
import { isQueueUnavailable } from '../queue/queue-unavailable.js';
import { ApiError } from './api-error.js';

/** The body of every error response: `{ error: { code, message, details? } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

/** Engine errors are the caller's fault unless they concern the deployment's own model. */
const ENGINE_STATUS: Partial<Record<EngineError['code'], number>> = {
  BACKEND_UNAVAILABLE: 503,
  DEVICE_FAILED: 503,
  // The backend ran out of memory or aborted: the inference thread restarts itself; the request may be retried.
  BACKEND_FAILED: 503,
  // The deployment cannot serve the model (left out of the API, or too large for its memory): said as such, not hidden.
  MODEL_NOT_SERVED: 503,
  MODEL_TOO_LARGE: 503,
  // The request's inputs are too many or too long for the memory inference has.
  BATCH_TOO_LARGE: 413,
  MODEL_CONFIG_INVALID: 500,
  MODEL_WEIGHTS_MISMATCH: 500,
  SAFETENSORS_INVALID: 500,
  TOKENIZER_INVALID: 500,
};

/** Seconds a client is asked to wait (`Retry-After`) when PostgreSQL or Redis cannot be reached: both reconnect by themselves. */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;
const OUTAGE_CODES = new Set(['STORE_UNAVAILABLE', 'QUEUE_UNAVAILABLE']);

/** The code and message of a 503 for an outage of the store or the queue; undefined for any other error. */
function outageOf(err: unknown): { code: string; message: string } | undefined {
  // A route's own answer, or the framework's 4xx (a client that hung up mid-body carries ECONNRESET too), is not an outage.
  const given = (err as { statusCode?: unknown }).statusCode;
  if (err instanceof ApiError || (typeof given === 'number' && given < 500)) return undefined;
  if (isStoreUnavailable(err)) return { code: 'STORE_UNAVAILABLE', message: 'the database cannot be reached; try again shortly' };
  if (isQueueUnavailable(err)) return { code: 'QUEUE_UNAVAILABLE', message: 'the job queue cannot be reached; try again shortly' };
  return undefined;
}

/** Status and body of any error a request can end with: 5xx messages are hidden, but unavailability is said as such. */
function describe(err: FastifyError | ApiError | EngineError): { status: number; body: ErrorBody } {
  if ('validation' in err && err.validation) return { status: 400, body: errorBody('VALIDATION_FAILED', err.message, err.validation) };
  const outage = outageOf(err);
  if (outage) return { status: 503, body: errorBody(outage.code, outage.message) };
  if (err instanceof EngineError) {
    const status = ENGINE_STATUS[err.code] ?? 400;
    return { status, body: status === 500 ? errorBody('INTERNAL', 'internal server error') : errorBody(err.code, err.message) };
  }
  const given = (err as { statusCode?: unknown }).statusCode;
  const status = typeof given === 'number' && given >= 400 && given <= 599 ? given : 500;
  if (status >= 500 && status !== 503) return { status, body: errorBody('INTERNAL', 'internal server error') };
  const code = err.code ?? (status === 503 ? 'UNAVAILABLE' : 'BAD_REQUEST');
  return { status, body: errorBody(code, err.message, err instanceof ApiError ? err.details : undefined) };
}

function send(reply: FastifyReply, { status, body }: { status: number; body: ErrorBody }) {
  if (OUTAGE_CODES.has(body.error.code)) reply.header('retry-after', String(OUTAGE_RETRY_AFTER_SECONDS));
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** A request for no route, without echoing an unbounded URL. */
export const noRoute = (request: FastifyRequest) => new ApiError(404, 'NOT_FOUND', `no route ${request.method} ${request.url.slice(0, 200)}`);

/** Maps validation failures, engine and API errors, outages, unknown routes and crashes to the error body. */
export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ApiError | EngineError, request, reply) => {
    const answer = describe(err);
    if (answer.status === 503) request.log.warn({ err }, 'request refused: unavailable');
    else if (answer.status >= 500) request.log.error({ err }, 'request failed');
    return send(reply, answer);
  });
  app.setNotFoundHandler((request, reply) => send(reply, describe(noRoute(request))));
}

/**
 * Fastify's own refusals before routing (a URL it cannot decode, a path parameter over
 * `maxParamLength`), in the error body; they keep Fastify's code (FST_ERR_…) and status.
 */
export function answerFrameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const answer = describe(err);
  if (answer.status >= 500) request.log.error({ err }, 'request failed');
  void send(reply, answer);
}

/** What Node's HTTP parser refused, as a status and the error body's code and message. */
function describeClientError(err: NodeJS.ErrnoException): { status: number; code: string; message: string } {
  if (err.code === 'HPE_HEADER_OVERFLOW') return { status: 431, code: 'HEADERS_TOO_LARGE', message: 'the request headers are larger than the server accepts' };
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: 'REQUEST_TIMEOUT', message: 'the request did not arrive in time' };
  return { status: 400, code: 'MALFORMED_REQUEST', message: `the request is not valid HTTP${err.code ? ` (${err.code})` : ''}` };
}

/**
 * Node's HTTP parser refuses some requests before Fastify sees them (headers too large, a request
 * line or header that is not HTTP, a request that took too long); its default answer is a bare
 * "400 Bad Request". This writes the error body instead, on the raw socket (there is no request
 * object yet), and closes the connection, as Node does.
 */
export function answerClientError(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, code, message } = describeClientError(err);
  this.log.debug({ err }, 'refused a request Node could not parse');
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify(errorBody(code, message));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
