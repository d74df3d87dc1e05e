import { join } from 'node:path';
import { initBackend, type BackendName } from '../../src/engine/backend.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import type { DatasetRow } from '../../src/engine/datasets/dataset-row.js';
import { readDatasetFile } from '../../src/engine/datasets/parse-dataset.js';
import { isCausalLanguageModel, type CausalLanguageModel, type FrozenModel } from '../../src/engine/models/frozen-model.js';
import { loadFrozenModel } from '../../src/engine/models/load-model.js';
import { embedSequences, sequenceLayout, type PromptedRow } from '../../src/engine/sequences.js';
import { tf } from '../../src/engine/tf.js';
import { loadTokenizer, type TextTokenizer } from '../../src/engine/tokenizer.js';
import { DATASETS_DIR, MODELS_DIR } from './shared.js';

export interface LoadedModel {
  readonly model: CausalLanguageModel;
  readonly tokenizer: TextTokenizer;
}

/** gpt2-mini and its tokenizer on `backend`. */
export async function loadGpt2Mini(backend: BackendName = 'wasm'): Promise<LoadedModel> {
  await initBackend(backend);
  const dir = join(MODELS_DIR, 'gpt2-mini');
  return { model: causal(await loadFrozenModel(dir)), tokenizer: await loadTokenizer(dir) };
}

/** The first `count` SST-2 dev rows: short real sentences. */
export async function sst2Rows(count: number): Promise<DatasetRow[]> {
  return (await readDatasetFile(join(DATASETS_DIR, 'sst2', 'dev.tsv'), TASK_CATALOG.sst2.reading)).slice(0, count);
}

/** `model`, checked to be decoder-only: for tests of the whole-sequence passes. */
export function causal(model: FrozenModel): CausalLanguageModel {
  if (!isCausalLanguageModel(model)) throw new Error(`${model.modelType} is not a decoder-only model`);
  return model;
}

/** Hidden states [B, T, d] of every position, prompt rows included (the general path). */
export function allPositionsHidden(model: CausalLanguageModel, rows: readonly PromptedRow[]): { hidden: tf.Tensor3D; lengths: readonly number[]; T: number } {
  const layout = sequenceLayout(model, rows);
  const hidden = tf.tidy(() => model.transform(embedSequences(model, rows, layout), layout.lengths));
  return { hidden, lengths: layout.lengths, T: layout.T };
}
