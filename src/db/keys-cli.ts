/**
 * API keys, from the server's shell (only a key's hash is stored; its secret is printed once, at creation):
 *   npm run keys:create -- --tenant NAME [--name KEY_NAME]        a new tenant and its first key
 *   npm run keys:create -- --tenant-id ID [--name KEY_NAME]       another key of a tenant (to rotate one)
 *   npm run keys:list [-- --tenant-id ID]                         keys as JSON lines, never their secrets
 *   npm run keys:revoke -- --key KEY_ID                           refused from the next request on
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { applyMigrations } from './migrate.js';
import { createPrismaClient } from './prisma-client.js';
import { createTenantsRepository } from './tenants-repository.js';

const USAGE = `usage: npm run keys:create -- (--tenant NAME | --tenant-id ID) [--name KEY_NAME]
       npm run keys:list [-- --tenant-id ID]
       npm run keys:revoke -- --key KEY_ID`;

const [command, ...args] = process.argv.slice(2);
const { values } = parseArgs({
  args,
  options: { tenant: { type: 'string' }, 'tenant-id': { type: 'string' }, name: { type: 'string', default: 'default' }, key: { type: 'string' } },
  strict: true,
});
const usage = (problem: string): never => {
  process.stderr.write(`${problem}\n${USAGE}\n`);
  process.exit(2);
};

const config = loadConfig();
await applyMigrations(config.databaseUrl);
const prisma = createPrismaClient(config.databaseUrl);
const tenants = createTenantsRepository(prisma);
const print = (row: object) => process.stdout.write(`${JSON.stringify(row)}\n`);
try {
  switch (command) {
    case 'create': {
      if ((values.tenant === undefined) === (values['tenant-id'] === undefined)) usage('give exactly one of --tenant and --tenant-id');
      const key = values.tenant !== undefined ? await tenants.createWithKey(values.tenant, values.name) : await tenants.addKey(values['tenant-id']!, values.name);
      if (!key) usage(`no tenant ${values['tenant-id']}`);
      print({ tenantId: key!.tenantId, keyId: key!.keyId, apiKey: key!.secret });
      break;
    }
    case 'list':
      for (const key of await tenants.listKeys(values['tenant-id'])) print(key);
      break;
    case 'revoke': {
      if (!values.key) usage('give --key KEY_ID');
      const revoked = await tenants.revokeKey(values.key!);
      if (!revoked) usage(`no key ${values.key}`);
      print(revoked!);
      break;
    }
    default:
      usage(`unknown command ${JSON.stringify(command ?? '')}`);
  }
} finally {
  await prisma.$disconnect();
}
