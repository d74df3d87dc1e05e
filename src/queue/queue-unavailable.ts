/**
 * Tells a Redis outage (no connection, connection lost, server loading or failing over) from an
 * error of the command itself. The API's connections fail fast rather than queue commands
 * (`enableOfflineQueue: false`, see redis-connections.ts), so an outage shows up as one of these
 * errors at once; ioredis reconnects by itself, and the next request succeeds once Redis is back.
 */

/**
 * ioredis rejects a command with a plain Error when it has no writable connection or loses it:
 * these messages are its only mark (`CONNECTION_CLOSED_ERROR_MSG`, offline queue disabled, command
 * timeout).
 */
const IOREDIS_OUTAGE_MESSAGE = /^(Connection is closed\.|Stream isn't writeable|Command timed out)/;
/** ioredis's error when a command used up its `maxRetriesPerRequest` reconnects. */
const IOREDIS_OUTAGE_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError']);
/** Replies of a server that is up but cannot serve yet (loading its data, no primary, failing over). */
const REDIS_OUTAGE_REPLY = /^(LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY)\b/;
const NODE_OUTAGE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

export function isQueueUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (IOREDIS_OUTAGE_NAMES.has(err.name)) return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && NODE_OUTAGE_CODES.has(code)) return true;
  return IOREDIS_OUTAGE_MESSAGE.test(err.message) || REDIS_OUTAGE_REPLY.test(err.message);
}
