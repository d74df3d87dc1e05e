/** The parts of a Hugging Face T5 `config.json` (T5 v1.0, v1.1, Flan-T5) the engine reads. */
import { EngineError } from '../engine-error.js';

export type T5FeedForward = 'relu' | 'gated-gelu';

export interface T5Config {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  /** Width of one attention head (d_kv); heads · d_kv need not be d_model. */
  readonly headSize: number;
  readonly numHeads: number;
  readonly innerSize: number;
  readonly numLayers: number;
  readonly numDecoderLayers: number;
  readonly relativeBuckets: number;
  readonly relativeMaxDistance: number;
  readonly feedForward: T5FeedForward;
  readonly tiedHead: boolean;
  readonly layerNormEpsilon: number;
  readonly decoderStartTokenId: number;
  readonly eosTokenId: number;
  /**
   * Longest encoder input, prompt rows included, and longest decoder sequence. T5's positions are
   * relative, so this is a bound the engine sets (n_positions where a config has it, else 512, the
   * length T5 was trained on), not a table's size.
   */
  readonly maxPositions: number;
}

/** HF's names for a feed-forward: `relu` (v1.0) and `gated-gelu` (v1.1, Flan; its GELU is the tanh one). */
const FEED_FORWARDS: Record<string, T5FeedForward> = { relu: 'relu', 'gated-gelu': 'gated-gelu' };

export function parseT5Config(source: string, raw: Record<string, unknown>): T5Config {
  const fail = (what: string) => new EngineError('MODEL_CONFIG_INVALID', `${source}: ${what}`);
  const given = (key: string) => raw[key] !== undefined && raw[key] !== null;
  const integer = (key: string, min: number, fallback?: number): number => {
    const value = given(key) ? raw[key] : fallback;
    if (!Number.isSafeInteger(value) || (value as number) < min) throw fail(`${key} must be an integer of at least ${min}, got ${JSON.stringify(raw[key])}`);
    return value as number;
  };
  const feedForward = FEED_FORWARDS[String(raw.feed_forward_proj ?? 'relu')];
  if (!feedForward) {
    throw new EngineError('MODEL_UNSUPPORTED', `${source}: feed_forward_proj ${JSON.stringify(raw.feed_forward_proj)} is not supported (supported: relu, gated-gelu)`);
  }
  const epsilon = raw.layer_norm_epsilon ?? 1e-6;
  if (typeof epsilon !== 'number' || !(epsilon > 0)) throw fail(`layer_norm_epsilon must be a positive number, got ${JSON.stringify(epsilon)}`);
  const tied = raw.tie_word_embeddings ?? true;
  if (typeof tied !== 'boolean') throw fail(`tie_word_embeddings must be true or false, got ${JSON.stringify(tied)}`);
  const numLayers = integer('num_layers', 1);
  return {
    vocabSize: integer('vocab_size', 1),
    hiddenSize: integer('d_model', 1),
    headSize: integer('d_kv', 1),
    numHeads: integer('num_heads', 1),
    innerSize: integer('d_ff', 1),
    numLayers,
    numDecoderLayers: integer('num_decoder_layers', 1, numLayers),
    relativeBuckets: integer('relative_attention_num_buckets', 2, 32),
    relativeMaxDistance: integer('relative_attention_max_distance', 1, 128),
    feedForward,
    tiedHead: tied,
    layerNormEpsilon: epsilon,
    decoderStartTokenId: integer('decoder_start_token_id', 0, 0),
    eosTokenId: integer('eos_token_id', 0, 1),
    maxPositions: integer('n_positions', 2, 512),
  };
}
