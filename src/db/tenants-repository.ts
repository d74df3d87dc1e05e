/** Tenants and their API keys. A key's secret is returned once; only its SHA-256 is stored. */
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from './generated/client.js';
import { isUuid } from './uuid.js';

const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');
const newSecret = () => `lopt_${randomBytes(32).toString('base64url')}`;

export interface KeyInfo {
  keyId: string;
  tenantId: string;
  tenantName: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

const KEY_INFO = { id: true, tenantId: true, name: true, createdAt: true, revokedAt: true, tenant: { select: { name: true } } } as const;
const keyInfo = (key: { id: string; tenantId: string; name: string; createdAt: Date; revokedAt: Date | null; tenant: { name: string } }): KeyInfo => ({
  keyId: key.id,
  tenantId: key.tenantId,
  tenantName: key.tenant.name,
  name: key.name,
  createdAt: key.createdAt.toISOString(),
  revokedAt: key.revokedAt?.toISOString() ?? null,
});

export function createTenantsRepository(prisma: PrismaClient) {
  return {
    async createWithKey(tenantName: string, keyName: string): Promise<{ tenantId: string; keyId: string; secret: string }> {
      const secret = newSecret();
      const tenant = await prisma.tenant.create({
        data: { name: tenantName, apiKeys: { create: { name: keyName, keyHash: hashSecret(secret) } } },
        select: { id: true, apiKeys: { select: { id: true } } },
      });
      const key = tenant.apiKeys[0];
      if (!key) throw new Error('the API key was not created with its tenant');
      return { tenantId: tenant.id, keyId: key.id, secret };
    },

    /** A new key of an existing tenant (to rotate keys: add one, move clients to it, revoke the old); null when there is no such tenant. */
    async addKey(tenantId: string, keyName: string): Promise<{ tenantId: string; keyId: string; secret: string } | null> {
      if (!isUuid(tenantId) || !(await prisma.tenant.findUnique({ where: { id: tenantId }, select: { id: true } }))) return null;
      const secret = newSecret();
      const key = await prisma.apiKey.create({ data: { tenantId, name: keyName, keyHash: hashSecret(secret) }, select: { id: true } });
      return { tenantId, keyId: key.id, secret };
    },

    /** Every key (of one tenant, when given), oldest first, without anything of its secret. */
    async listKeys(tenantId?: string): Promise<KeyInfo[]> {
      if (tenantId !== undefined && !isUuid(tenantId)) return [];
      const keys = await prisma.apiKey.findMany({ where: { tenantId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], select: KEY_INFO });
      return keys.map(keyInfo);
    },

    /** Revokes a key (a key revoked before keeps its first revocation time); null when there is no such key. */
    async revokeKey(keyId: string): Promise<KeyInfo | null> {
      if (!isUuid(keyId)) return null;
      await prisma.apiKey.updateMany({ where: { id: keyId, revokedAt: null }, data: { revokedAt: new Date() } });
      const key = await prisma.apiKey.findUnique({ where: { id: keyId }, select: KEY_INFO });
      return key && keyInfo(key);
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
