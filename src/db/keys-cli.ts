/**
 * API keys, from the server's shell (only a key's hash is stored; its secret is printed once, at creation):
 *   npm run keys:create -- --tenant NAME [--name KEY_NAME]        a new tenant and its first key
 *   npm run keys:create -- --tenant-id ID [--name KEY_NAME]       another key of a tenant (to rotate one)
 *   npm run keys:list [-- --tenant-id ID]                         keys as JSON lines, never their secrets
 *   npm run keys:revoke -- --key KEY_ID                           refused from the next request on (every replica is told over Redis)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config.js';
import { publishInvalidation } from '../queue/invalidation-channel.js';
import { apiConnection } from '../queue/redis-connections.js';
import { applyMigrations } from './migrate.js';
import { createPrismaClient } from './prisma-client.js';
import { createTenantsRepository } from './tenants-repository.js';

const USAGE = `usage: npm run keys:create -- (--tenant NAME | --tenant-id ID) [--name KEY_NAME]
       npm run keys:list [-- --tenant-id ID]
       npm run keys:revoke -- --key KEY_ID`;

/** Publishes the revocation on the deployment's invalidation channel; false when Redis did not answer within a few seconds. */
async function announceRevocation({ redisUrl, queuePrefix }: Config, keyId: string): Promise<boolean> {
  const redis = apiConnection(redisUrl);
  redis.on('error', () => undefined);
  try {
    const ready = await Promise.race([new Promise<boolean>((resolve) => redis.once('ready', () => resolve(true))), sleep(5000, false, { ref: false })]);
    return ready && (await publishInvalidation(redis, queuePrefix, { kind: 'api-key', id: keyId }));
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

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
      // The API replicas remember keys for LOPT_KEY_CACHE_TTL_MS: tell them now, where Redis answers.
      if (!(await announceRevocation(config, revoked!.keyId))) process.stderr.write(`Redis did not answer: replicas refuse the key within LOPT_KEY_CACHE_TTL_MS (${config.keyCacheTtlMs} ms)\n`);
      print(revoked!);
      break;
    }
    default:
      usage(`unknown command ${JSON.stringify(command ?? '')}`);
  }
} finally {
  await prisma.$disconnect();
}
