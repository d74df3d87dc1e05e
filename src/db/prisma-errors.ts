import pg from 'pg';
import { Prisma } from './generated/client.js';

/** A foreign key refused the write: Prisma's P2003, or PostgreSQL's 23503 from a plain query on the pool. The row it points to is gone. */
export function isForeignKeyViolation(err: unknown): boolean {
  return (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2003') || (err instanceof pg.DatabaseError && err.code === '23503');
}

/** A unique constraint refused the write: Prisma's P2002, or PostgreSQL's 23505 from a plain query on the pool. */
export function isUniqueViolation(err: unknown): boolean {
  return (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') || (err instanceof pg.DatabaseError && err.code === '23505');
}
