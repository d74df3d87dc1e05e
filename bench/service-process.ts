/**
 * A real API process for benchmarks (`src/server.ts`, no training workers) on a PostgreSQL
 * database and a queue prefix of its own, with one tenant's key: benchmarks drive it from their
 * own process, and `stop` ends it and drops the database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { applyMigrations } from '../src/db/migrate.js';
import { createPrismaClient } from '../src/db/prisma-client.js';
import { createTenantsRepository } from '../src/db/tenants-repository.js';
import { freePort } from '../src/eval/local-service.js';
import { healthz } from '../test/helpers/process-probes.js';
import { MODELS_DIR } from '../test/helpers/shared.js';

const ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface ServiceProcess {
  readonly base: string;
  readonly port: number;
  readonly pid: number;
  readonly databaseUrl: string;
  /** The bench tenant's API key. */
  readonly key: string;
  stop(): Promise<void>;
}

/** `env` goes over the defaults (gpt2-mini only, the wasm backend, LOPT_WORKERS=0, warnings only). */
export async function startServiceProcess(env: NodeJS.ProcessEnv = {}): Promise<ServiceProcess> {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  const database = `lopt_bench_${id}`;
  const databaseUrl = `postgresql://postgres@127.0.0.1:5432/${database}`;
  await applyMigrations(databaseUrl);
  const prisma = createPrismaClient(databaseUrl);
  const key = (await createTenantsRepository(prisma).createWithKey('bench', 'bench')).secret;
  await prisma.$disconnect();

  const port = await freePort();
  const api: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl,
      LOPT_QUEUE_PREFIX: `lopt-bench-${id}`,
      LOPT_MODELS: `gpt2-mini=${join(MODELS_DIR, 'gpt2-mini')}`,
      LOPT_BACKEND: 'wasm',
      LOPT_WORKERS: '0',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const stop = async () => {
    if (api.exitCode === null) {
      api.kill('SIGTERM');
      await new Promise((resolve) => api.once('exit', resolve));
    }
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  };
  for (let tries = 0; ; tries++) {
    try {
      await healthz(port);
      break;
    } catch (err) {
      if (tries > 600 || api.exitCode !== null) {
        await stop();
        throw new Error(`the API did not start: ${(err as Error).message}`);
      }
      await sleep(100);
    }
  }
  return { base: `http://127.0.0.1:${port}`, port, pid: api.pid!, databaseUrl, key, stop };
}
