/** The Prisma client, connected through node-postgres (Prisma 7 has no built-in driver). */
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client.js';

/** A server that takes connections but never answers them fails the query after this, rather than hanging it. */
const CONNECT_TIMEOUT_MS = 5_000;

export function createPrismaClient(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS }) });
}
