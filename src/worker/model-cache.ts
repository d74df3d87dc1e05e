import { EngineError } from '../engine/engine-error.js';
import type { FrozenModel } from '../engine/models/frozen-model.js';
import { loadFrozenModel } from '../engine/models/load-model.js';
import { loadTokenizer, type TextTokenizer } from '../engine/tokenizer.js';

export interface LoadedModel {
  readonly model: FrozenModel;
  readonly tokenizer: TextTokenizer;
}

/** Loads each configured model once, on first use, and keeps it; `onLoaded` hears how long each load took. */
export function createModelCache(folders: ReadonlyMap<string, string>, onLoaded: (id: string, seconds: number) => void = () => undefined) {
  const loading = new Map<string, Promise<LoadedModel>>();
  return {
    /** Whether `id` is one of the models this cache loads. */
    serves: (id: string) => folders.has(id),
    get(id: string): Promise<LoadedModel> {
      const folder = folders.get(id);
      if (!folder) return Promise.reject(new EngineError('MODEL_NOT_SERVED', `model "${id}" is not served by this process`));
      let entry = loading.get(id);
      if (!entry) {
        const started = performance.now();
        entry = Promise.all([loadFrozenModel(folder), loadTokenizer(folder)]).then(([model, tokenizer]) => {
          onLoaded(id, (performance.now() - started) / 1000);
          return { model, tokenizer };
        });
        entry.catch(() => loading.delete(id));
        loading.set(id, entry);
      }
      return entry;
    },
    async dispose(): Promise<void> {
      for (const entry of loading.values()) (await entry.catch(() => undefined))?.model.dispose();
      loading.clear();
    },
  };
}

export type ModelCache = ReturnType<typeof createModelCache>;
