/**
 * A private instance of the service for one evaluation: this checkout's `src/server.ts` (API plus
 * LOPT_WORKERS worker processes) on a free port, with its own PostgreSQL database and BullMQ
 * prefix on the configured servers, and a tenant key made by `keys:create`. `close` stops it and
 * drops the database and the queue's keys.
 */
import { spawn, execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createServiceClient } from './service-client.js';

const READY_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 60_000;

export interface LocalService {
  readonly url: string;
  readonly apiKey: string;
  /** Where the service's own log goes. */
  readonly logFile: string;
  close(): Promise<void>;
}

/** A TCP port free on the loopback interface now (the OS's pick). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function startLocalService(options: { repoDir: string; workers: number }): Promise<LocalService> {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  const database = `lopt_eval_${id}`;
  const queuePrefix = `lopt-eval-${id}`;
  const baseDatabaseUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/lopt';
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const port = await freePort();
  const env = {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: withDatabase(baseDatabaseUrl, database),
    REDIS_URL: redisUrl,
    LOPT_QUEUE_PREFIX: queuePrefix,
    LOPT_WORKERS: String(options.workers),
    // A private instance: no metrics ports, which would collide with a running service's.
    LOPT_METRICS_PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  const logFile = join(tmpdir(), `${queuePrefix}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: options.repoDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  // One file for both streams: neither may end it alone.
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  child.once('close', () => log.end());
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  let closing: Promise<void> | undefined;
  const close = () => (closing ??= stop());
  async function stop(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), sleep(STOP_TIMEOUT_MS, false, { ref: false })]);
      if (!stopped) child.kill('SIGKILL');
    }
    const admin = new pg.Client({ connectionString: withDatabase(baseDatabaseUrl, 'postgres') });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).finally(() => admin.end());
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${queuePrefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }

  try {
    const url = `http://127.0.0.1:${port}`;
    await waitUntilReady(url, exited, logFile);
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/db/keys-cli.ts', 'create', '--tenant', 'paper-eval'], { cwd: options.repoDir, env });
    const { apiKey } = JSON.parse(stdout) as { apiKey: string };
    return { url, apiKey, logFile, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function waitUntilReady(url: string, exited: Promise<number | null>, logFile: string): Promise<void> {
  const client = createServiceClient(url, '');
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let stopped = false;
  void exited.then(() => (stopped = true));
  for (;;) {
    if (stopped) throw new Error(`the service exited while starting; see ${logFile}`);
    const ready = await client.readiness().then(() => true, () => false);
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`the service was not ready within ${READY_TIMEOUT_MS / 1000} s; see ${logFile}`);
    await sleep(1000);
  }
}
