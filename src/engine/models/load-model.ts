/**
 * Loads a frozen model from a Hugging Face folder (`config.json` + `model.safetensors`). Each
 * supported `model_type` registers its loader here.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { activeBackend } from '../backend.js';
import { EngineError } from '../engine-error.js';
import { SafetensorsFile } from '../safetensors.js';
import type { FrozenModel } from './frozen-model.js';
import { Gpt2Model } from './gpt2.js';
import { parseGpt2Config } from './gpt2-config.js';
import { importGpt2Weights } from './gpt2-weights.js';

type ModelLoader = (config: Record<string, unknown>, configPath: string, weights: SafetensorsFile) => FrozenModel;

const LOADERS: Record<string, ModelLoader> = {
  gpt2: (raw, configPath, weights) => {
    const config = parseGpt2Config(configPath, raw);
    return new Gpt2Model(config, importGpt2Weights(weights, config), !activeBackend().fastTransposedMatMul);
  },
};

export const SUPPORTED_MODEL_TYPES = Object.keys(LOADERS);

async function readConfig(path: string): Promise<Record<string, unknown>> {
  if (!existsSync(path)) throw new EngineError('MODEL_CONFIG_INVALID', `${path} does not exist`);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new EngineError('MODEL_CONFIG_INVALID', `${path}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new EngineError('MODEL_CONFIG_INVALID', `${path} is not a JSON object`);
  return raw as Record<string, unknown>;
}

/** Loads the model in `dir` on the active backend. Its weights are never trainable. */
export async function loadFrozenModel(dir: string): Promise<FrozenModel> {
  const configPath = join(dir, 'config.json');
  const config = await readConfig(configPath);
  const modelType = config.model_type;
  const loader = typeof modelType === 'string' ? LOADERS[modelType] : undefined;
  if (!loader) {
    throw new EngineError(
      'MODEL_UNSUPPORTED',
      `${configPath}: model_type ${JSON.stringify(modelType)} is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
    );
  }
  const weightsPath = join(dir, 'model.safetensors');
  if (!existsSync(weightsPath)) throw new EngineError('MODEL_WEIGHTS_MISMATCH', `${weightsPath} does not exist`);
  const weights = SafetensorsFile.open(weightsPath);
  try {
    return loader(config, configPath, weights);
  } finally {
    weights.close();
  }
}
