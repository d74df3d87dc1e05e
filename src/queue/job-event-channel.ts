/**
 * "A job's event log grew" travels over Redis pub/sub, so that an event stream open on any API
 * replica wakes as soon as a worker (or another replica) commits an event. The message is only
 * the job id: the log in PostgreSQL is what streams read, so a lost message (Redis down) costs
 * only the latency until the stream's next poll.
 */
import type { Redis } from 'ioredis';

const channel = (prefix: string) => `${prefix}:job-events`;

/**
 * A notifier for the store: publishes each job id while `redis` is connected, and drops it
 * otherwise (streams poll too), so an outage never piles notices up in a connection's offline queue.
 */
export function jobEventPublisher(redis: Redis, prefix: string, onError: (err: Error) => void): (jobId: string) => void {
  return (jobId) => {
    if (redis.status !== 'ready') return;
    redis.publish(channel(prefix), jobId).catch(onError);
  };
}

export interface JobEventListener {
  /** Resolves at the next notice for `jobId`, or after `timeoutMs`, or when `signal` aborts; never rejects. */
  wait(jobId: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/**
 * One subscription per process (`subscriber` must be a connection of its own, one that retries:
 * ioredis subscribes again after a reconnect), fanned out to the streams waiting here.
 */
export function listenForJobEvents(subscriber: Redis, prefix: string, onError: (err: Error) => void): JobEventListener {
  const waiting = new Map<string, Set<() => void>>();
  subscriber.on('message', (from: string, jobId: string) => {
    if (from !== channel(prefix)) return;
    for (const wake of waiting.get(jobId) ?? []) wake();
  });
  subscriber.subscribe(channel(prefix)).catch(onError);
  return {
    wait(jobId, timeoutMs, signal) {
      return new Promise((resolve) => {
        const wakers = waiting.get(jobId) ?? waiting.set(jobId, new Set()).get(jobId)!;
        const wake = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', wake);
          wakers.delete(wake);
          if (wakers.size === 0) waiting.delete(jobId);
          resolve();
        };
        const timer = setTimeout(wake, timeoutMs);
        signal.addEventListener('abort', wake, { once: true });
        wakers.add(wake);
        if (signal.aborted) wake();
      });
    },
    async close() {
      for (const wakers of waiting.values()) for (const wake of [...wakers]) wake();
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
