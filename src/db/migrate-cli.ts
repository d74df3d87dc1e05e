/** `npm run db:migrate`: applies pending migrations to `DATABASE_URL`, creating the database if needed. */
import { applyMigrations } from './migrate.js';

const databaseUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/lopt';

try {
  const applied = await applyMigrations(databaseUrl, (message) => console.log(message));
  if (applied.length === 0) console.log('database is up to date');
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
}
