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
import { assertTensorFits } from '../tensor-limit.js';
import type { FrozenModel, ModelDimensions } from './frozen-model.js';
import { Gpt2Model } from './gpt2.js';
import { parseGpt2Config } from './gpt2-config.js';
import { importGpt2Weights } from './gpt2-weights.js';

interface ModelType {
  /** The dimensions a config.json declares, checked. */
  dims(config: Record<string, unknown>, configPath: string): ModelDimensions;
  load(config: Record<string, unknown>, configPath: string, weights: SafetensorsFile): FrozenModel;
}

const MODEL_TYPES: Record<string, ModelType> = {
  gpt2: {
    dims: (raw, configPath) => {
      const { vocabSize, hiddenSize, maxPositions, numLayers } = parseGpt2Config(configPath, raw);
      return { vocabSize, hiddenSize, maxPositions, numLayers };
    },
    load: (raw, configPath, weights) => {
      const config = parseGpt2Config(configPath, raw);
      assertTensorFits('the token embeddings (V, d)', [config.vocabSize, config.hiddenSize]);
      const backend = activeBackend();
      return new Gpt2Model(config, importGpt2Weights(weights, config), {
        precomputeTransposes: !backend.fastTransposedMatMul,
        nativeOps: backend.nativeKernels.active,
      });
    },
  },
};

export const SUPPORTED_MODEL_TYPES = Object.keys(MODEL_TYPES);

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

async function readModelType(dir: string) {
  const configPath = join(dir, 'config.json');
  const config = await readConfig(configPath);
  const modelType = config.model_type;
  const type = typeof modelType === 'string' ? MODEL_TYPES[modelType] : undefined;
  if (!type) {
    throw new EngineError(
      'MODEL_UNSUPPORTED',
      `${configPath}: model_type ${JSON.stringify(modelType)} is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
    );
  }
  return { config, configPath, type, modelType: modelType as string };
}

/** The type and dimensions of the model in `dir`, from its config.json alone (no weights read). */
export async function readModelInfo(dir: string): Promise<{ modelType: string; dims: ModelDimensions }> {
  const { config, configPath, type, modelType } = await readModelType(dir);
  return { modelType, dims: type.dims(config, configPath) };
}

/** Loads the model in `dir` on the active backend. Its weights are never trainable. */
export async function loadFrozenModel(dir: string): Promise<FrozenModel> {
  const { config, configPath, type } = await readModelType(dir);
  const weightsPath = join(dir, 'model.safetensors');
  if (!existsSync(weightsPath)) throw new EngineError('MODEL_WEIGHTS_MISMATCH', `${weightsPath} does not exist`);
  const weights = SafetensorsFile.open(weightsPath);
  try {
    return type.load(config, configPath, weights);
  } finally {
    weights.close();
  }
}
