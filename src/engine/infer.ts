/**
 * Inference with trained prompts. Each request carries its own prompt X (and label words), so a
 * single forward pass can serve requests for different prompts.
 */
import { assertBackendHealthy } from './backend.js';
import type { FrozenModel } from './models/frozen-model.js';
import { flatLabelScores } from './tasks/classification.js';
import type { tf } from './tf.js';

export interface ClassifyRequest {
  readonly prompt: tf.Tensor2D;
  readonly input: readonly number[];
  readonly labels: readonly string[];
  readonly labelTokens: readonly (readonly number[])[];
}

export interface Classification {
  readonly label: string;
  /** Softmax over the labels' scores. */
  readonly probabilities: Readonly<Record<string, number>>;
}

export async function classify(model: FrozenModel, requests: readonly ClassifyRequest[]): Promise<Classification[]> {
  const scores = flatLabelScores(model, requests);
  const flat = await scores.data();
  scores.dispose();
  assertBackendHealthy();
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

export { generateGreedy as generate } from './tasks/text-to-text.js';
