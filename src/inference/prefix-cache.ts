/**
 * The inference thread's cache of stored prompts as its passes use them: a decoder-only model's
 * prefix state (the prompt's keys and values at every layer: CausalLanguageModel.prefixState), or
 * an encoder-decoder's prompt tensor (its encoder sees prompt and input together). Bounded in
 * bytes, least recently used out first. An entry evicted or forgotten while a batch may still
 * hold it is disposed only at `release`, after the batch: neither eviction nor a prompt's deletion
 * ever frees tensors in use (on an asynchronous backend a generation yields between its steps).
 */
import { LRUCache } from 'lru-cache';
import type { PrefixState } from '../engine/models/frozen-model.js';
import type { tf } from '../engine/tf.js';

/** A request's prompt as its rows take it: the cached state, or the tensor. */
export type PromptOfRows = { readonly prompt: tf.Tensor2D } | { readonly prefix: PrefixState };

export interface CachedPrompt {
  readonly rows: PromptOfRows;
  readonly bytes: number;
  dispose(): void;
}

export interface PrefixCache {
  /** The prompt cached under `key`, or `compute`'s, cached when it fits. */
  get(key: string, compute: () => CachedPrompt): PromptOfRows;
  /** Drops every entry of `promptKey` (the prompt was deleted), of any model. */
  forget(promptKey: string): void;
  /** Disposes what was evicted, forgotten or could not be cached since the last call: call it when no batch holds entries. */
  release(): void;
}

/** Entries are `modelId promptKey`: one prompt may be cached for several models' ids. */
export const prefixKey = (modelId: string, promptKey: string) => `${modelId} ${promptKey}`;

export function createPrefixCache(maxBytes: number): PrefixCache {
  const retired: CachedPrompt[] = [];
  const cache = maxBytes > 0 ? new LRUCache<string, CachedPrompt>({ maxSize: maxBytes, sizeCalculation: (entry) => Math.max(1, entry.bytes), dispose: (entry) => void retired.push(entry) }) : null;
  return {
    get(key, compute) {
      const known = cache?.get(key);
      if (known) return known.rows;
      const entry = compute();
      // An entry larger than the whole cache is refused by it: used for this batch, then disposed.
      if (!cache || entry.bytes > maxBytes) retired.push(entry);
      else cache.set(key, entry);
      return entry.rows;
    },
    forget(promptKey) {
      if (!cache) return;
      for (const key of [...cache.keys()]) if (key.endsWith(` ${promptKey}`)) cache.delete(key);
    },
    release() {
      for (const entry of retired.splice(0)) entry.dispose();
    },
  };
}
