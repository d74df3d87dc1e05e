import { Prisma } from './generated/client.js';

/** A unique constraint refused the write (P2002). */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}

/** The query's result, or null when the row it had to update or delete does not exist (P2025). */
export async function nullIfMissing<T>(query: Promise<T>): Promise<T | null> {
  try {
    return await query;
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2025') return null;
    throw err;
  }
}
