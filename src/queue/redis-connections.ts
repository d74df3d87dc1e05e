import { Redis } from 'ioredis';

/**
 * The two Redis profiles BullMQ asks for: workers and subscribers retry forever (a blocking
 * command must not give up), while the API fails fast so a request can answer 503 at once.
 */
export function workerConnection(redisUrl: string): Redis {
  return new Redis(redisUrl, { maxRetriesPerRequest: null });
}

export function apiConnection(redisUrl: string): Redis {
  return new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
}
