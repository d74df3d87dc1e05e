/**
 * Stored prompts with their tensors, kept in the API's memory for predict and generate, which
 * need the whole prompt at every call: a stored prompt never changes, so an entry stays right
 * until the prompt is deleted (here, or on another replica: the invalidation channel). Bounded
 * in bytes, least recently used out first. A hit answers only the tenant that owns the prompt.
 */
import { LRUCache } from 'lru-cache';
import type { StoredPrompt } from '../db/prompts-repository.js';

export interface PromptCache {
  /** The tenant's prompt, from memory or from `lookup`; null when the tenant has none of that id. */
  find(tenantId: string, id: string): Promise<StoredPrompt | null>;
  forget(id: string): void;
}

/** What an entry costs besides its tensors: the record's other fields, roughly. */
const RECORD_BYTES = 2048;

const bytesOf = (prompt: StoredPrompt) => RECORD_BYTES + Object.values(prompt.tensors).reduce((sum, { data }) => sum + data.byteLength, 0);

/** `maxBytes` 0 keeps nothing: every call asks `lookup`. */
export function createPromptCache(lookup: (tenantId: string, id: string) => Promise<StoredPrompt | null>, maxBytes: number): PromptCache {
  if (maxBytes === 0) return { find: lookup, forget: () => undefined };
  const byId = new LRUCache<string, StoredPrompt>({ maxSize: maxBytes, sizeCalculation: bytesOf });
  return {
    async find(tenantId, id) {
      const known = byId.get(id);
      if (known) return known.tenantId === tenantId ? known : null;
      const prompt = await lookup(tenantId, id);
      if (prompt && bytesOf(prompt) <= maxBytes) byId.set(id, prompt);
      return prompt;
    },
    forget(id) {
      byId.delete(id);
    },
  };
}
