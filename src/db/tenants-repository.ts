/** Tenants and their API keys. A key's secret is returned once; only its SHA-256 is stored. */
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from './generated/client.js';

const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export function createTenantsRepository(prisma: PrismaClient) {
  return {
    async createWithKey(tenantName: string, keyName: string): Promise<{ tenantId: string; keyId: string; secret: string }> {
      const secret = `lopt_${randomBytes(32).toString('base64url')}`;
      const tenant = await prisma.tenant.create({
        data: { name: tenantName, apiKeys: { create: { name: keyName, keyHash: hashSecret(secret) } } },
        select: { id: true, apiKeys: { select: { id: true } } },
      });
      const key = tenant.apiKeys[0];
      if (!key) throw new Error('the API key was not created with its tenant');
      return { tenantId: tenant.id, keyId: key.id, secret };
    },

    /** The key's tenant, or null when the secret is unknown or its key revoked. */
    async findByApiKey(secret: string): Promise<{ tenantId: string; keyId: string } | null> {
      const key = await prisma.apiKey.findUnique({
        where: { keyHash: hashSecret(secret) },
        select: { id: true, tenantId: true, revokedAt: true },
      });
      return key && key.revokedAt === null ? { tenantId: key.tenantId, keyId: key.id } : null;
    },
  };
}
