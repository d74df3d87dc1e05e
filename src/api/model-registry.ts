import type { ModelDimensions, PromptStack } from '../engine/models/frozen-model.js';
import { readModelInfo } from '../engine/models/load-model.js';
import { notFound } from './api-error.js';

export interface ModelInfo {
  readonly id: string;
  readonly modelType: string;
  readonly promptStack: PromptStack;
  readonly dims: ModelDimensions;
}

/** The configured models, described from their config.json (the API never loads weights). */
export async function createModelRegistry(folders: ReadonlyMap<string, string>) {
  const models = new Map<string, ModelInfo>();
  for (const [id, folder] of folders) models.set(id, { id, ...(await readModelInfo(folder)) });
  return {
    list: (): ModelInfo[] => [...models.values()],
    /** A model no longer configured is undefined. */
    find: (id: string): ModelInfo | undefined => models.get(id),
    get(id: string): ModelInfo {
      const model = models.get(id);
      if (!model) throw notFound('model', id);
      return model;
    },
  };
}

export type ModelRegistry = Awaited<ReturnType<typeof createModelRegistry>>;
