/**
 * Initial prompt rows I ∈ ℝ^{n×d} and how each method starts from them: pt takes X = I, lopt1
 * the best rank-r approximation of I (truncated SVD, split as U = L·√S, V = √S·Rᵀ), lopt2 takes
 * X0 = I with random U, V scaled so that X has the scale of I.
 */
import { Matrix, SVD } from 'ml-matrix';
import type { FrozenModel } from '../models/frozen-model.js';
import { Rng } from '../random.js';
import { tf } from '../tf.js';
import type { ResolvedPromptSpec } from './prompt-spec.js';

/** Rows sampled from the token embeddings, uniform noise in ±0.5, or an init text's embeddings. */
export function initialRows(spec: ResolvedPromptSpec, model: FrozenModel, encode: (text: string) => number[]): tf.Tensor2D {
  const { n, seed } = spec;
  const d = model.dims.hiddenSize;
  if (spec.init === 'random') return tf.randomUniform([n, d], -0.5, 0.5, 'float32', seed) as tf.Tensor2D;
  let ids: number[];
  if (spec.init === 'vocab') {
    const rng = new Rng(seed);
    ids = Array.from({ length: n }, () => rng.int(model.dims.vocabSize));
  } else {
    const text = encode(spec.initText!);
    ids = Array.from({ length: n }, (_, i) => text[i % text.length]!);
  }
  return tf.tidy(() => tf.reshape(model.embed(tf.tensor2d(ids, [1, n], 'int32')), [n, d]));
}

/** U [n, r], V [r, d] with U·V the best rank-r approximation of rows [n, d]. */
export async function truncatedSvdFactors(rows: tf.Tensor2D, r: number): Promise<{ U: tf.Tensor2D; V: tf.Tensor2D }> {
  const [n, d] = rows.shape;
  const data = (await rows.data()) as Float32Array;
  const matrix = new Matrix(Array.from({ length: n }, (_, i) => Array.from(data.subarray(i * d, (i + 1) * d))));
  const svd = new SVD(matrix, { autoTranspose: true });
  const roots = svd.diagonal.slice(0, r).map(Math.sqrt);
  const left = svd.leftSingularVectors.subMatrix(0, n - 1, 0, r - 1); // (n, r)
  const right = svd.rightSingularVectors.subMatrix(0, d - 1, 0, r - 1); // (d, r)
  for (let k = 0; k < r; k++) {
    left.mulColumn(k, roots[k]!);
    right.mulColumn(k, roots[k]!);
  }
  return { U: tf.tensor2d(left.to2DArray()), V: tf.tensor2d(right.transpose().to2DArray()) };
}

/** U [d, r], V [r, d] for lopt2: X0·U has unit scale, and σ(X0·U)·V the scale of X0. */
export async function lopt2Factors(x0: tf.Tensor2D, r: number, seed: number): Promise<{ U: tf.Tensor2D; V: tf.Tensor2D }> {
  const d = x0.shape[1];
  const meanSquare = tf.tidy(() => tf.mean(tf.square(x0)));
  const rms = Math.sqrt((await meanSquare.data())[0]!) || 1;
  meanSquare.dispose();
  return {
    U: tf.randomNormal([d, r], 0, 1 / (rms * Math.sqrt(d)), 'float32', seed + 1) as tf.Tensor2D,
    V: tf.randomNormal([r, d], 0, rms / Math.sqrt(r), 'float32', seed + 2) as tf.Tensor2D,
  };
}
