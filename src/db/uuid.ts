const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are PostgreSQL uuids: any other string makes the query fail (P2007) instead of finding nothing. */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}
