/**
 * Creates a tenant and its first API key, and prints the key once (only its hash is stored).
 *   npm run keys:create -- --tenant NAME [--name KEY_NAME]
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { applyMigrations } from './migrate.js';
import { createPrismaClient } from './prisma-client.js';
import { createTenantsRepository } from './tenants-repository.js';

const { values } = parseArgs({ options: { tenant: { type: 'string' }, name: { type: 'string', default: 'default' } }, strict: true });
if (!values.tenant) {
  process.stderr.write('usage: npm run keys:create -- --tenant NAME [--name KEY_NAME]\n');
  process.exit(2);
}
const config = loadConfig();
await applyMigrations(config.databaseUrl);
const prisma = createPrismaClient(config.databaseUrl);
try {
  const key = await createTenantsRepository(prisma).createWithKey(values.tenant, values.name);
  process.stdout.write(`${JSON.stringify({ tenantId: key.tenantId, keyId: key.keyId, apiKey: key.secret })}\n`);
} finally {
  await prisma.$disconnect();
}
