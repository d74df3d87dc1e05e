/**
 * Redis and PostgreSQL servers of a test's own, on free ports in a temporary folder, so that
 * fault tests can stop and restart them (never the shared ones). Redis keeps an append-only file
 * and PostgreSQL its data folder, so a restart comes back with what was there, as in production.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../src/eval/local-service.js';

export interface OwnStore {
  readonly url: string;
  /** Stops the server as an outage would; its data stays for the next start. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

const ownDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

export async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(100);
  }
}

const answers = (command: string, args: string[]) => {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
};

export async function startOwnRedis(): Promise<OwnStore> {
  const dir = ownDir('lopt-redis-');
  const port = await freePort();
  let server: ChildProcess | undefined;
  const ping = () => answers('redis-cli', ['-p', String(port), 'ping']);
  const store: OwnStore = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
      await until(`redis on ${port} answering`, ping);
    },
    async stop() {
      const stopping = server;
      if (!stopping || stopping.exitCode !== null) return;
      const exited = new Promise((resolve) => stopping.once('exit', resolve));
      stopping.kill('SIGTERM'); // Redis flushes its append-only file and exits
      await exited;
    },
    async close() {
      await store.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await store.start();
  process.once('exit', () => server?.kill('SIGKILL'));
  return store;
}

function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const version = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0];
  if (!version) throw new Error(`no PostgreSQL under ${root}`);
  return join(root, version, 'bin');
}

export async function startOwnPostgres(): Promise<OwnStore> {
  const bin = postgresBin();
  const dir = ownDir('lopt-pg-');
  const data = join(dir, 'data');
  const port = await freePort();
  // PostgreSQL refuses to run as root: as root, run its tools as the postgres user.
  const asRoot = process.getuid?.() === 0;
  const run = (tool: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args], { stdio: 'ignore' }) : execFileSync(join(bin, tool), args, { stdio: 'ignore' });
  mkdirSync(data);
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const store: OwnStore = {
    url: `postgresql://postgres@127.0.0.1:${port}`,
    async start() {
      run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
    },
    async stop() {
      if (existsSync(join(data, 'postmaster.pid'))) run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    async close() {
      await store.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await store.start();
  process.once('exit', () => {
    if (existsSync(join(data, 'postmaster.pid'))) {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
      } catch {
        // already gone
      }
    }
  });
  return store;
}
