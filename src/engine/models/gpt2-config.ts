import { EngineError } from '../engine-error.js';

/** The parts of a Hugging Face GPT-2 `config.json` the engine reads. */
export interface Gpt2Config {
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly innerSize: number;
  readonly layerNormEpsilon: number;
  readonly scaleAttnWeights: boolean;
  readonly scaleAttnByInverseLayerIdx: boolean;
}

/** Activations that are HF's tanh approximation of GELU under its two names. */
const SUPPORTED_ACTIVATIONS = ['gelu_new', 'gelu_pytorch_tanh'];

export function parseGpt2Config(source: string, raw: Record<string, unknown>): Gpt2Config {
  const fail = (what: string) => new EngineError('MODEL_CONFIG_INVALID', `${source}: ${what}`);
  const positiveInt = (key: string, fallback?: number): number => {
    const value = raw[key] ?? fallback;
    if (!Number.isSafeInteger(value) || (value as number) < 1) throw fail(`${key} must be a positive integer, got ${JSON.stringify(value)}`);
    return value as number;
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const value = raw[key] ?? fallback;
    if (typeof value !== 'boolean') throw fail(`${key} must be true or false, got ${JSON.stringify(value)}`);
    return value;
  };
  const unsupported = (what: string) => new EngineError('MODEL_UNSUPPORTED', `${source}: ${what} is not supported`);

  const activation = raw.activation_function ?? 'gelu_new';
  if (!SUPPORTED_ACTIVATIONS.includes(activation as string)) {
    throw unsupported(`activation_function ${JSON.stringify(activation)} (supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`);
  }
  if (flag('add_cross_attention', false)) throw unsupported('add_cross_attention');
  if (flag('reorder_and_upcast_attn', false)) throw unsupported('reorder_and_upcast_attn');
  if (!flag('tie_word_embeddings', true)) throw unsupported('tie_word_embeddings: false');

  const hiddenSize = positiveInt('n_embd');
  const numHeads = positiveInt('n_head');
  if (hiddenSize % numHeads !== 0) throw fail(`n_embd ${hiddenSize} is not divisible by n_head ${numHeads}`);
  const epsilon = raw.layer_norm_epsilon ?? 1e-5;
  if (typeof epsilon !== 'number' || !(epsilon > 0)) throw fail(`layer_norm_epsilon must be a positive number, got ${JSON.stringify(epsilon)}`);
  return {
    vocabSize: positiveInt('vocab_size'),
    maxPositions: positiveInt('n_positions'),
    hiddenSize,
    numLayers: positiveInt('n_layer'),
    numHeads,
    innerSize: raw.n_inner === null || raw.n_inner === undefined ? 4 * hiddenSize : positiveInt('n_inner'),
    layerNormEpsilon: epsilon,
    scaleAttnWeights: flag('scale_attn_weights', true),
    scaleAttnByInverseLayerIdx: flag('scale_attn_by_inverse_layer_idx', false),
  };
}
