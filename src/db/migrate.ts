/**
 * Applies `prisma/migrations/<name>/migration.sql` in name order and records them in Prisma's own
 * `_prisma_migrations` table, so `prisma migrate deploy` can take over wherever its schema engine
 * can be downloaded (Prisma 7's CLI cannot migrate offline).
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** The repository's migrations: two levels up from both `src/db/` (tsx) and `dist/db/` (built). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

/** The key `prisma migrate` itself locks, so this applier and Prisma's never run at once either. */
const ADVISORY_LOCK_KEY = 72707369;

const CREATE_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"            VARCHAR(64) NOT NULL,
    "finished_at"         TIMESTAMPTZ,
    "migration_name"      VARCHAR(255) NOT NULL,
    "logs"                TEXT,
    "rolled_back_at"      TIMESTAMPTZ,
    "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
  )`;

interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

/** Creates the database if needed, applies the pending migrations; returns their names. */
export async function applyMigrations(
  databaseUrl: string,
  log: (message: string) => void = () => {},
  migrationsDir = MIGRATIONS_DIR,
): Promise<string[]> {
  const migrations = await readMigrations(migrationsDir);
  const client = await connectCreatingDatabase(databaseUrl, log);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEY]);
    await client.query(CREATE_MIGRATIONS_TABLE);
    const { rows } = await client.query<AppliedRow>(
      'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
    );
    const applied = new Map(rows.map((row) => [row.migration_name, row]));
    const names: string[] = [];
    for (const migration of migrations) {
      const row = applied.get(migration.name);
      if (row) {
        checkApplied(migration, row);
        continue;
      }
      await applyOne(client, migration);
      log(`applied migration ${migration.name}`);
      names.push(migration.name);
    }
    return names;
  } finally {
    // Ending the session releases the advisory lock too.
    await client.end();
  }
}

async function readMigrations(dir: string): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(join(dir, name, 'migration.sql'));
      return { name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    }),
  );
}

function checkApplied(migration: Migration, row: AppliedRow): void {
  if (row.finished_at === null) {
    throw new Error(`migration ${migration.name} failed earlier and was never rolled back; resolve it in "_prisma_migrations" first`);
  }
  if (row.checksum !== migration.checksum) {
    throw new Error(
      `migration ${migration.name} was changed after it was applied (checksum ${row.checksum} in the database, ${migration.checksum} on disk); add a new migration instead`,
    );
  }
}

async function applyOne(client: pg.Client, migration: Migration): Promise<void> {
  const startedAt = new Date();
  await client.query('BEGIN');
  try {
    await client.query(migration.sql);
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
       VALUES ($1, $2, now(), $3, $4, 1)`,
      [randomUUID(), migration.checksum, migration.name, startedAt],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw new Error(`migration ${migration.name} failed: ${(err as Error).message}`, { cause: err });
  }
}

/** Connects to the database in the URL, first creating it (from the `postgres` database) if it is missing. */
async function connectCreatingDatabase(databaseUrl: string, log: (message: string) => void): Promise<pg.Client> {
  try {
    return await connect(databaseUrl);
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err; // invalid_catalog_name
  }
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const admin = await connect(url.toString());
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    log(`created database ${name}`);
  } catch (err) {
    // Another process starting at the same moment may have created it first.
    if (!['42P04', '23505'].includes((err as { code?: string }).code ?? '')) throw err;
  } finally {
    await admin.end();
  }
  return connect(databaseUrl);
}

async function connect(connectionString: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  return client;
}
