/**
 * Choosing each next token from its logits: greedy (the most likely; the default, deterministic),
 * or sampled at a temperature from the top-k tokens and the smallest set whose probability
 * reaches top-p (nucleus), with a seeded generator so that a seed repeats its output.
 */
import { EngineError } from './engine-error.js';
import { Rng } from './random.js';

export interface SamplingOptions {
  /** Softmax temperature; 0 (or absent) chooses greedily. */
  readonly temperature?: number;
  /** Only the k most likely tokens can be drawn. */
  readonly topK?: number;
  /** Only the most likely tokens whose probabilities add up to p can be drawn (at least one). */
  readonly topP?: number;
  readonly seed?: number;
}

/** Picks the next token from one row of logits (V). */
export type TokenChooser = (logits: Float32Array) => number;

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

export function tokenChooser({ temperature = 0, topK, topP, seed = 0 }: SamplingOptions = {}): TokenChooser {
  const bad = (message: string) => new EngineError('BAD_ARGUMENT', message);
  if (!(temperature >= 0 && Number.isFinite(temperature))) throw bad(`temperature must be a finite number ≥ 0, got ${temperature}`);
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 1)) throw bad(`topK must be a positive integer, got ${topK}`);
  if (topP !== undefined && !(topP > 0 && topP <= 1)) throw bad(`topP must be in (0, 1], got ${topP}`);
  if (!Number.isSafeInteger(seed)) throw bad(`seed must be an integer, got ${seed}`);
  if (temperature === 0) return argmax;
  const rng = new Rng(seed);
  return (row) => draw(row, temperature, topK ?? row.length, topP ?? 1, rng);
}

function draw(row: Float32Array, temperature: number, topK: number, topP: number, rng: Rng): number {
  // Candidates by falling logit (ties by id, so a seed always draws the same), cut to top-k.
  const order = Array.from(row.keys()).sort((a, b) => row[b]! - row[a]! || a - b).slice(0, topK);
  const top = row[order[0]!]!;
  const weights = order.map((id) => Math.exp((row[id]! - top) / temperature));
  const total = weights.reduce((sum, w) => sum + w, 0);
  // The nucleus: the fewest candidates whose probability reaches top-p.
  let kept = 0;
  for (let mass = 0; kept < order.length && mass < topP * total; kept++) mass += weights[kept]!;
  const nucleus = weights.slice(0, Math.max(1, kept));
  let pick = rng.next() * nucleus.reduce((sum, w) => sum + w, 0);
  for (let i = 0; i < nucleus.length; i++) {
    pick -= nucleus[i]!;
    if (pick < 0) return order[i]!;
  }
  return order[nucleus.length - 1]!;
}
