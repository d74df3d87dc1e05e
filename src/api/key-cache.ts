/**
 * Known API keys, remembered for a short time so that a read does not pay a store round trip to
 * check its key. Only keys that were found are kept (a key created a moment ago must work at
 * once); a revoked key is forgotten on this replica at once and on the others through the
 * invalidation channel, or after the TTL at most where that message is lost. Entries are keyed by
 * the secret's hash, never by the secret.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export interface ApiKeyOwner {
  readonly tenantId: string;
  readonly keyId: string;
}

export interface KeyCache {
  /** The key's owner, from memory when it was found within the TTL, else from `lookup`. */
  ownerOf(secret: string): Promise<ApiKeyOwner | null>;
  /** Forgets a key (it was revoked). */
  forget(keyId: string): void;
}

/** Keys remembered at once, at most: each entry is ~200 bytes. */
const MAX_KEYS = 10_000;

/** `ttlMs` 0 remembers nothing: every call asks `lookup`. */
export function createKeyCache(lookup: (secret: string) => Promise<ApiKeyOwner | null>, ttlMs: number): KeyCache {
  if (ttlMs === 0) return { ownerOf: lookup, forget: () => undefined };
  const byHash = new LRUCache<string, ApiKeyOwner>({ max: MAX_KEYS, ttl: ttlMs });
  const hash = (secret: string) => createHash('sha256').update(secret).digest('base64');
  return {
    async ownerOf(secret) {
      const key = hash(secret);
      const known = byHash.get(key);
      if (known) return known;
      const owner = await lookup(secret);
      if (owner) byHash.set(key, owner);
      return owner;
    },
    forget(keyId) {
      for (const [key, owner] of byHash.entries()) if (owner.keyId === keyId) byHash.delete(key);
    },
  };
}
