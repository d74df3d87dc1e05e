import { Prisma } from './generated/client.js';

/** A unique constraint refused the write (P2002). */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}

