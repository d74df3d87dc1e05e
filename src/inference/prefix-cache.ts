/**
 * The inference thread's cache of prefix states (a stored prompt's keys and values at every layer
 * of its model: CausalLanguageModel.prefixState), bounded in bytes, least recently used out
 * first. A state evicted while a batch may still hold it is disposed only at `release`, after the
 * batch: eviction never frees tensors in use.
 */
import { LRUCache } from 'lru-cache';
import type { PrefixState } from '../engine/models/frozen-model.js';

export interface PrefixCache {
  /** The state cached under `key`, or `compute`'s, cached when it fits. */
  get(key: string, compute: () => PrefixState): PrefixState;
  /** Drops every state of `promptKey` (the prompt was deleted), of any model. */
  forget(promptKey: string): void;
  /** Disposes what was evicted or could not be cached since the last call: call it when no batch holds states. */
  release(): void;
  readonly bytes: number;
  readonly size: number;
}

/** Entries are `modelId promptKey`: one prompt may have states for several models' ids. */
export const prefixKey = (modelId: string, promptKey: string) => `${modelId} ${promptKey}`;

export function createPrefixCache(maxBytes: number): PrefixCache {
  const retired: PrefixState[] = [];
  const cache = maxBytes > 0 ? new LRUCache<string, PrefixState>({ maxSize: maxBytes, sizeCalculation: (state) => Math.max(1, state.bytes), dispose: (state) => void retired.push(state) }) : null;
  return {
    get(key, compute) {
      const known = cache?.get(key);
      if (known) return known;
      const state = compute();
      // A state larger than the whole cache is refused by it: used for this batch, then disposed.
      if (!cache || state.bytes > maxBytes) retired.push(state);
      else cache.set(key, state);
      return state;
    },
    forget(promptKey) {
      if (!cache) return;
      for (const key of [...cache.keys()]) if (key.endsWith(` ${promptKey}`)) cache.delete(key);
    },
    release() {
      for (const state of retired.splice(0)) state.dispose();
    },
    get bytes() {
      return cache?.calculatedSize ?? 0;
    },
    get size() {
      return cache?.size ?? 0;
    },
  };
}
