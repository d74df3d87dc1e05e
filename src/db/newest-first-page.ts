/**
 * Newest-first pages of a tenant's rows, keyset on (createdAt, id) rather than Prisma's cursor:
 * the cursor is the id of the last row of the previous page, so a row that changed since (a
 * job's status, under a status filter) still marks where the next page starts. A cursor that
 * names no row of the tenant (or one deleted since) is refused (400 INVALID_CURSOR).
 */
import { InvalidCursorError } from './invalid-cursor-error.js';
import { isUuid } from './uuid.js';

export interface PageQuery {
  /** The id of the last row of the previous page. */
  cursor?: string;
  limit: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

type Position = { id: string; createdAt: Date };

export const NEWEST_FIRST = [{ createdAt: 'desc' }, { id: 'desc' }] as const;

/**
 * The where-clause part that starts a page after `cursor`, from the cursor row's position
 * (`find` reads it, scoped to the tenant); nothing for the first page.
 */
export async function afterCursor(cursor: string | undefined, what: string, find: (id: string) => Promise<Position | null>) {
  if (cursor === undefined) return {};
  const after = isUuid(cursor) ? await find(cursor) : null;
  if (!after) throw new InvalidCursorError(cursor, what);
  return { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] };
}

/** The page of `rows`, read with `take: limit + 1`: one more than the page says whether another follows. */
export function pageOf<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? last.id : null };
}
