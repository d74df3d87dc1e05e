/**
 * Cancellation requests travel over Redis pub/sub: the API publishes the job id, and whichever
 * worker runs that job aborts it. Workers also poll the database, so a missed message only
 * delays a cancel.
 */
import type { Redis } from 'ioredis';

const channel = (prefix: string) => `${prefix}:cancel`;

export async function publishCancel(redis: Redis, prefix: string, jobId: string): Promise<void> {
  await redis.publish(channel(prefix), jobId);
}

/** Calls `onCancel(jobId)` for every request; `subscriber` must be a connection of its own. */
export async function subscribeCancel(subscriber: Redis, prefix: string, onCancel: (jobId: string) => void): Promise<void> {
  subscriber.on('message', (from: string, jobId: string) => {
    if (from === channel(prefix)) onCancel(jobId);
  });
  await subscriber.subscribe(channel(prefix));
}
