/**
 * Inference with trained prompts. Each request carries its own prompt X (and label words), so a
 * single forward pass can serve requests for different prompts.
 */
import { assertBackendHealthy } from './backend.js';
import { guardBackend } from './backend-guard.js';
import type { FrozenModel, PrefixState } from './models/frozen-model.js';
import { flatLabelScores } from './tasks/classification.js';
import { generateTokens } from './tasks/generation.js';
import type { tf } from './tf.js';

export interface ClassifyRequest {
  readonly prompt?: tf.Tensor2D;
  /** A decoder-only model's cached state after the prompt, in its place (ContinuedRow.prefix). */
  readonly prefix?: PrefixState;
  readonly input: readonly number[];
  readonly labels: readonly string[];
  readonly labelTokens: readonly (readonly number[])[];
}

export interface Classification {
  readonly label: string;
  /** Softmax over the labels' scores. */
  readonly probabilities: Readonly<Record<string, number>>;
}

const inferenceWork = (what: string) => ({ what, remedy: 'send fewer or shorter texts at a time' });

export async function classify(model: FrozenModel, requests: readonly ClassifyRequest[]): Promise<Classification[]> {
  const flat = await guardBackend(inferenceWork(`classifying ${requests.length} inputs`), async () => {
    const scores = flatLabelScores(model, requests);
    const data = await scores.data();
    scores.dispose();
    assertBackendHealthy();
    return data;
  });
  let offset = 0;
  return requests.map(({ labels }) => {
    const own = Array.from(flat.subarray(offset, offset + labels.length));
    offset += labels.length;
    const top = Math.max(...own);
    const weights = own.map((s) => Math.exp(s - top));
    const total = weights.reduce((a, b) => a + b, 0);
    const best = own.indexOf(top);
    return { label: labels[best]!, probabilities: Object.fromEntries(labels.map((label, k) => [label, weights[k]! / total])) };
  });
}

/** Continuations of each input (see generateTokens), under the backend guard. */
export function generate(...args: Parameters<typeof generateTokens>): Promise<number[][]> {
  return guardBackend(inferenceWork(`generating continuations of ${args[1].length} inputs`), () => generateTokens(...args));
}
