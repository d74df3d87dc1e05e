/**
 * Loads a frozen model from a Hugging Face folder (`config.json` + `model.safetensors`, or its
 * shards and `model.safetensors.index.json`). Each supported `model_type` registers its family
 * here: its config parser, weight count and builder, in files of its own. Before any weight is read, the bytes the model needs on the active path are checked
 * against what the process has free (memory-budget.ts): a model that cannot fit is refused.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { activeBackend, backendLabel } from '../backend.js';
import { EngineError } from '../engine-error.js';
import { assertWeightsFit } from '../memory-budget.js';
import { assertTensorFits } from '../tensor-limit.js';
import type { FrozenModel, ModelDimensions, PromptStack } from './frozen-model.js';
import { gpt2Model } from './gpt2.js';
import { parseGpt2Config } from './gpt2-config.js';
import { gpt2WeightBytes, importGpt2Weights } from './gpt2-weights.js';
import { llamaModel } from './llama.js';
import { parseLlamaConfig, type LlamaFamilyType } from './llama-config.js';
import { importLlamaWeights, llamaWeightBytes } from './llama-weights.js';
import { openModelWeights, type WeightSource } from './model-weights-file.js';
import { T5Model } from './t5.js';
import { parseT5Config } from './t5-config.js';
import { importT5Weights, t5WeightBytes } from './t5-weights.js';
import { choosePlacement, type WeightBytes, type WeightPlacement } from './weight-placement.js';

interface ModelType {
  /** Where the family's soft prompt goes. */
  readonly promptStack: PromptStack;
  /** The dimensions a config.json declares, checked. */
  dims(config: Record<string, unknown>, configPath: string): ModelDimensions;
  /** The float32 bytes of its weights, from the config alone. */
  weightBytes(config: Record<string, unknown>, configPath: string): WeightBytes;
  load(config: Record<string, unknown>, configPath: string, weights: WeightSource, placement: WeightPlacement): FrozenModel;
}

/** A registry entry from a family's config parser (whose config has the model's dimensions), weight count and model builder. */
function family<C extends ModelDimensions>(parts: {
  promptStack: PromptStack;
  parse: (raw: Record<string, unknown>, configPath: string) => C;
  weightBytes: (config: C) => WeightBytes;
  build: (config: C, weights: WeightSource, placement: WeightPlacement, options: { nativeOps: boolean }) => FrozenModel;
}): ModelType {
  return {
    promptStack: parts.promptStack,
    dims: (raw, configPath) => {
      const { vocabSize, hiddenSize, maxPositions, numLayers, numHeads } = parts.parse(raw, configPath);
      return { vocabSize, hiddenSize, maxPositions, numLayers, numHeads };
    },
    weightBytes: (raw, configPath) => parts.weightBytes(parts.parse(raw, configPath)),
    load: (raw, configPath, weights, placement) => {
      const config = parts.parse(raw, configPath);
      assertTensorFits('the token embeddings (V, d)', [config.vocabSize, config.hiddenSize]);
      return parts.build(config, weights, placement, { nativeOps: activeBackend().nativeKernels.active });
    },
  };
}

/** Llama, Qwen2 and Mistral: one architecture, read from each family's config (llama-config.ts). */
const llamaFamily = (modelType: LlamaFamilyType) =>
  family({
    promptStack: 'decoder',
    parse: (raw, configPath) => parseLlamaConfig(modelType, configPath, raw),
    weightBytes: llamaWeightBytes,
    build: (config, weights, placement, options) => llamaModel(config, importLlamaWeights(weights, config, placement), placement, options),
  });

const MODEL_TYPES: Record<string, ModelType> = {
  gpt2: family({
    promptStack: 'decoder',
    parse: (raw, configPath) => parseGpt2Config(configPath, raw),
    weightBytes: gpt2WeightBytes,
    build: (config, weights, placement, options) => gpt2Model(config, importGpt2Weights(weights, config, placement), placement, options),
  }),
  llama: llamaFamily('llama'),
  qwen2: llamaFamily('qwen2'),
  mistral: llamaFamily('mistral'),
  t5: family({
    promptStack: 'encoder',
    parse: (raw, configPath) => parseT5Config(configPath, raw),
    weightBytes: t5WeightBytes,
    build: (config, weights, placement, options) => new T5Model(config, importT5Weights(weights, config, placement), placement, options),
  }),
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
export async function readModelInfo(dir: string): Promise<{ modelType: string; promptStack: PromptStack; dims: ModelDimensions }> {
  const { config, configPath, type, modelType } = await readModelType(dir);
  return { modelType, promptStack: type.promptStack, dims: type.dims(config, configPath) };
}

const WHAT_TO_CHANGE =
  'give the process more memory (a larger machine or container, or a higher memory limit if one is configured), ' +
  'keep other models out of this process, or use a smaller model';

/** Throws MODEL_TOO_LARGE unless the weights of the model (`config`) fit on the active path with `placement`. */
function assertModelFits(dir: string, type: ModelType, config: Record<string, unknown>, configPath: string, placement: WeightPlacement): void {
  const need = placement.need(type.weightBytes(config, configPath));
  const onWasmWithoutAddon = activeBackend().tfjsName === 'wasm' && need.wasmHeap > 0;
  const remedy = onWasmWithoutAddon ? `build the OpenBLAS addon (native/), which keeps weights out of the WebAssembly heap, or ${WHAT_TO_CHANGE}` : WHAT_TO_CHANGE;
  assertWeightsFit(`the model in ${basename(dir)} (on ${backendLabel(activeBackend())}, weights in ${placement.label})`, need, remedy);
}

/** Checks from config.json alone that the model in `dir` would fit now on the active path; throws MODEL_TOO_LARGE if not. */
export async function assertModelLoadable(dir: string): Promise<void> {
  const { config, configPath, type } = await readModelType(dir);
  const placement = choosePlacement();
  try {
    assertModelFits(dir, type, config, configPath, placement);
  } finally {
    placement.dispose();
  }
}

/** Loads the model in `dir` on the active backend, once it is known to fit. Its weights are never trainable. */
export async function loadFrozenModel(dir: string): Promise<FrozenModel> {
  const { config, configPath, type } = await readModelType(dir);
  const placement = choosePlacement();
  try {
    assertModelFits(dir, type, config, configPath, placement);
    const weights = openModelWeights(dir);
    try {
      return type.load(config, configPath, weights, placement);
    } finally {
      weights.close();
    }
  } catch (err) {
    placement.dispose();
    throw err;
  }
}
