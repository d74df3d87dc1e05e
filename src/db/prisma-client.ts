/** The Prisma client, connected through node-postgres (Prisma 7 has no built-in driver). */
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/client.js';

/** A server that takes connections but never answers them fails the query after this, rather than hanging it. */
const CONNECT_TIMEOUT_MS = 5_000;

export function createPrismaClient(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS }) });
}

/**
 * Prisma and, beside it on the same node-postgres pool, plain queries for the few writes of
 * large bytes: Prisma base64-encodes a Bytes argument, and its debug module keeps the arguments
 * of its last 100 calls even with logging off, so a 20 MiB dataset written through it stays in
 * memory long after the request (see datasets-repository).
 */
export interface Database {
  readonly prisma: PrismaClient;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

/**
 * @param options.idleInTransactionMs the server ends a session that sits this long inside a
 *   transaction: a process frozen mid-transaction (SIGSTOP, a long pause) would otherwise hold its
 *   row locks, and so its job row, for as long as it stays frozen, and no other worker could take
 *   the job over. Workers give it their queue lock's duration.
 */
export function connectDatabase(databaseUrl: string, { idleInTransactionMs }: { idleInTransactionMs?: number } = {}): Database {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ...(idleInTransactionMs ? { idle_in_transaction_session_timeout: idleInTransactionMs } : {}),
  });
  // An idle connection that the server drops (an outage) is reported here; the pool makes a new one when asked.
  pool.on('error', () => undefined);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    pool,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
