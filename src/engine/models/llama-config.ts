/**
 * The parts of a Hugging Face `config.json` of a Llama-family decoder (model_type llama, qwen2,
 * mistral: the same architecture with different defaults) the engine reads.
 */
import { EngineError } from '../engine-error.js';

export type LlamaFamilyType = 'llama' | 'qwen2' | 'mistral';

/** How rotary frequencies are rescaled for longer contexts (`rope_scaling`). */
export type RopeScaling =
  | { readonly kind: 'none' }
  | { readonly kind: 'linear'; readonly factor: number }
  | {
      readonly kind: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositions: number;
    };

export interface LlamaConfig {
  readonly modelType: LlamaFamilyType;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly innerSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headSize: number;
  /** Longest sequence: max_position_embeddings, or the sliding window where one is shorter. */
  readonly maxPositions: number;
  readonly rmsNormEpsilon: number;
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling;
  /** Biases of q, k, v (Qwen2: always) and of o (Llama's attention_bias covers all four). */
  readonly qkvBias: boolean;
  readonly outputBias: boolean;
  readonly mlpBias: boolean;
  readonly tiedHead: boolean;
}

/** HF's names for SiLU. */
const SILU = ['silu', 'swish'];

/** Where the families' HF configuration classes differ in their defaults (all: untied head, θ 10000, ε 1e-6). */
const DEFAULTS: Record<LlamaFamilyType, { maxPositions: number; slidingWindow: number | null }> = {
  llama: { maxPositions: 2048, slidingWindow: null },
  qwen2: { maxPositions: 32768, slidingWindow: 4096 },
  mistral: { maxPositions: 4096 * 32, slidingWindow: 4096 },
};

export function parseLlamaConfig(modelType: LlamaFamilyType, source: string, raw: Record<string, unknown>): LlamaConfig {
  const fail = (what: string) => new EngineError('MODEL_CONFIG_INVALID', `${source}: ${what}`);
  const unsupported = (what: string, supported?: string) =>
    new EngineError('MODEL_UNSUPPORTED', `${source}: ${what} is not supported${supported ? ` (supported: ${supported})` : ''}`);
  const given = (key: string) => raw[key] !== undefined && raw[key] !== null;
  const positiveInt = (key: string, fallback?: number): number => {
    const value = given(key) ? raw[key] : fallback;
    if (!Number.isSafeInteger(value) || (value as number) < 1) throw fail(`${key} must be a positive integer, got ${JSON.stringify(raw[key])}`);
    return value as number;
  };
  const positiveNumber = (key: string, fallback: number, from: Record<string, unknown> = raw): number => {
    const value = from[key] ?? fallback;
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw fail(`${key} must be a positive number, got ${JSON.stringify(value)}`);
    return value;
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const value = raw[key] ?? fallback;
    if (typeof value !== 'boolean') throw fail(`${key} must be true or false, got ${JSON.stringify(value)}`);
    return value;
  };

  const activation = raw.hidden_act ?? 'silu';
  if (!SILU.includes(activation as string)) throw unsupported(`hidden_act ${JSON.stringify(activation)}`, 'silu');
  const hiddenSize = positiveInt('hidden_size');
  const numHeads = positiveInt('num_attention_heads');
  const numKvHeads = positiveInt('num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) throw fail(`num_key_value_heads ${numKvHeads} does not divide num_attention_heads ${numHeads}`);
  if (!given('head_dim') && hiddenSize % numHeads !== 0) throw fail(`hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  const headSize = positiveInt('head_dim', hiddenSize / numHeads);
  if (headSize % 2 !== 0) throw fail(`head_dim ${headSize} must be even for rotary embeddings`);
  if (given('partial_rotary_factor') && raw.partial_rotary_factor !== 1) throw unsupported(`partial_rotary_factor ${JSON.stringify(raw.partial_rotary_factor)}`);

  const maxPositionEmbeddings = positiveInt('max_position_embeddings', DEFAULTS[modelType].maxPositions);
  return {
    modelType,
    vocabSize: positiveInt('vocab_size'),
    hiddenSize,
    innerSize: positiveInt('intermediate_size'),
    numLayers: positiveInt('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headSize,
    maxPositions: Math.min(maxPositionEmbeddings, slidingWindow(modelType, raw, positiveInt, flag) ?? Infinity),
    rmsNormEpsilon: positiveNumber('rms_norm_eps', 1e-6),
    ropeTheta: positiveNumber('rope_theta', 10000),
    ropeScaling: parseRopeScaling(raw.rope_scaling, maxPositionEmbeddings, fail, unsupported, positiveNumber),
    // Qwen2 has q/k/v biases always and none on o; Llama's attention_bias puts one on all four; Mistral has none.
    qkvBias: modelType === 'qwen2' || (modelType === 'llama' && flag('attention_bias', false)),
    outputBias: modelType === 'llama' && flag('attention_bias', false),
    mlpBias: modelType === 'llama' && flag('mlp_bias', false),
    tiedHead: flag('tie_word_embeddings', false),
  };
}

/**
 * The attention window, where the config sets one: a query attends only to the last
 * `sliding_window` positions. Within it attention is the full causal one, so sequences are kept
 * to it (maxPositions) rather than masked: exact, and longer ones are refused as too long.
 */
function slidingWindow(
  modelType: LlamaFamilyType,
  raw: Record<string, unknown>,
  positiveInt: (key: string, fallback?: number) => number,
  flag: (key: string, fallback: boolean) => boolean,
): number | undefined {
  const fallback = DEFAULTS[modelType].slidingWindow;
  // Absent, the family's default applies; null means none.
  if (raw.sliding_window === null || (raw.sliding_window === undefined && fallback === null)) return undefined;
  // Llama has none; Qwen2 reads it only with use_sliding_window (and then from layer max_window_layers on: the bound still holds).
  if (modelType === 'llama' || (modelType === 'qwen2' && !flag('use_sliding_window', false))) return undefined;
  return positiveInt('sliding_window', fallback ?? undefined);
}

function parseRopeScaling(
  value: unknown,
  maxPositions: number,
  fail: (what: string) => Error,
  unsupported: (what: string, supported: string) => Error,
  positiveNumber: (key: string, fallback: number, from: Record<string, unknown>) => number,
): RopeScaling {
  if (value === undefined || value === null) return { kind: 'none' };
  if (typeof value !== 'object' || Array.isArray(value)) throw fail(`rope_scaling must be an object or null, got ${JSON.stringify(value)}`);
  const scaling = value as Record<string, unknown>;
  const type = scaling.rope_type ?? scaling.type; // HF renamed `type` to `rope_type`; both are read
  const factor = () => positiveNumber('factor', NaN, scaling);
  switch (type) {
    case 'default':
      return { kind: 'none' };
    case 'linear':
      return { kind: 'linear', factor: factor() };
    case 'llama3': {
      const lowFreqFactor = positiveNumber('low_freq_factor', NaN, scaling);
      const highFreqFactor = positiveNumber('high_freq_factor', NaN, scaling);
      if (!(highFreqFactor > lowFreqFactor)) throw fail(`rope_scaling: high_freq_factor ${highFreqFactor} must exceed low_freq_factor ${lowFreqFactor}`);
      const originalMaxPositions = positiveNumber('original_max_position_embeddings', maxPositions, scaling);
      return { kind: 'llama3', factor: factor(), lowFreqFactor, highFreqFactor, originalMaxPositions };
    }
    default:
      throw unsupported(`rope_scaling of type ${JSON.stringify(type)}`, 'default, linear, llama3');
  }
}
