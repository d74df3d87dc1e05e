/**
 * Tells an outage of PostgreSQL (not reachable, connection dropped, server shutting down or
 * starting, pool exhausted) from an error of the query itself. An outage is worth waiting out:
 * the API answers 503 and the workers retry; any other error is a real failure.
 */
import { Prisma } from './generated/client.js';

/** Prisma's codes for a server it cannot reach or talk to, and a pool that could not hand out a connection. */
const PRISMA_OUTAGE_CODES = new Set(['P1001', 'P1002', 'P1003', 'P1008', 'P1017', 'P2024']);
/** The driver adapter's kinds of connection trouble. */
/** (A database that does not exist — dropped, or not yet restored — counts: the service cannot work without it either way.) */
const ADAPTER_OUTAGE_KINDS = new Set(['DatabaseNotReachable', 'DatabaseDoesNotExist', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** SQLSTATE 08… (connection exception), 57P01–57P03 (shutdown, crash, not yet accepting connections), 53300 (too many connections), 3D000 (no such database). */
const SQLSTATE_OUTAGE = /^(08|57P0[123]$|53300$|3D000$)/;
const NODE_OUTAGE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const OUTAGE_MESSAGE = /Connection terminated|Can't reach database server|server closed the connection|terminating connection/i;

interface AdapterCause {
  kind?: string;
  originalCode?: string;
  code?: string;
}

function adapterCause(err: unknown): AdapterCause | undefined {
  const meta = (err as { meta?: { driverAdapterError?: { cause?: AdapterCause } } }).meta;
  return meta?.driverAdapterError?.cause ?? (err as { cause?: AdapterCause }).cause;
}

export function isStoreUnavailable(err: unknown): boolean {
  if (err instanceof Prisma.PrismaClientInitializationError) return true;
  if (typeof err !== 'object' || err === null) return false;
  if (err instanceof Prisma.PrismaClientKnownRequestError && PRISMA_OUTAGE_CODES.has(err.code)) return true;
  const cause = adapterCause(err);
  if (cause?.kind && ADAPTER_OUTAGE_KINDS.has(cause.kind)) return true;
  const sqlState = cause?.originalCode ?? cause?.code ?? (err as { code?: unknown }).code;
  if (typeof sqlState === 'string' && (SQLSTATE_OUTAGE.test(sqlState) || NODE_OUTAGE_CODES.has(sqlState))) return true;
  return OUTAGE_MESSAGE.test((err as { message?: unknown }).message as string ?? '');
}
