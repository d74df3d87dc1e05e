/**
 * "Forget what you cached of this" travels over Redis pub/sub to every API replica: a revoked API
 * key, a deleted prompt. Caches hold entries for a short time only (keys) or for rows that cannot
 * change (prompts), so a lost message (Redis down) costs at most a key's TTL of stale answers or
 * a deleted prompt's memory until it is evicted.
 */
import type { Redis } from 'ioredis';

export type InvalidationKind = 'api-key' | 'prompt';

export interface Invalidation {
  readonly kind: InvalidationKind;
  /** The API key's id, or the prompt's. */
  readonly id: string;
}

const channel = (prefix: string) => `${prefix}:invalidations`;
const KINDS: ReadonlySet<string> = new Set<InvalidationKind>(['api-key', 'prompt']);

/** Publishes while `redis` is connected; resolves false (nothing sent) when it is not. */
export async function publishInvalidation(redis: Redis, prefix: string, invalidation: Invalidation): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  await redis.publish(channel(prefix), JSON.stringify(invalidation));
  return true;
}

/** Calls `onInvalidation` for each message on `subscriber` (a subscriber connection, which ioredis subscribes again after a reconnect). */
export function listenForInvalidations(subscriber: Redis, prefix: string, onInvalidation: (invalidation: Invalidation) => void, onError: (err: Error) => void): void {
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel(prefix)) return;
    try {
      const { kind, id } = JSON.parse(message) as Partial<Invalidation>;
      if (typeof kind === 'string' && KINDS.has(kind) && typeof id === 'string') onInvalidation({ kind, id });
    } catch {
      // not one of ours: ignored
    }
  });
  subscriber.subscribe(channel(prefix)).catch(onError);
}
