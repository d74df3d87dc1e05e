/**
 * A worker waits out a PostgreSQL outage instead of failing its job: a store call that fails
 * because the database cannot be reached is tried again, with growing pauses, until the outage
 * has lasted `graceMs`. Only then does the error reach the job (and cost it an attempt).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isStoreUnavailable } from '../db/store-unavailable.js';

const FIRST_PAUSE_MS = 250;
const LONGEST_PAUSE_MS = 5_000;

export type StoreCall = <T>(what: string, call: () => Promise<T>) => Promise<T>;

/**
 * `stopWaiting` ends the wait early (the worker is shutting down): the last error is thrown then.
 * The calls must be safe to repeat: every write of a run is (see job-leases-repository).
 */
export function storeRetry(graceMs: number, log: Logger, stopWaiting: () => boolean = () => false): StoreCall {
  return async (what, call) => {
    let outageSince: number | undefined;
    for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, LONGEST_PAUSE_MS)) {
      try {
        const result = await call();
        if (outageSince !== undefined) log.info({ what, outageMs: Date.now() - outageSince }, 'the store answers again');
        return result;
      } catch (err) {
        if (!isStoreUnavailable(err)) throw err;
        outageSince ??= Date.now();
        const waited = Date.now() - outageSince;
        if (waited >= graceMs || stopWaiting()) throw err;
        if (pause === FIRST_PAUSE_MS) log.warn({ what, graceMs, err: (err as Error).message }, 'the store is unavailable; waiting for it');
        await sleep(Math.min(pause, graceMs - waited));
      }
    }
  };
}
