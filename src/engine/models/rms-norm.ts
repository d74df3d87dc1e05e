import { nativeRmsNorm } from '../native/native-ops.js';
import { tf } from '../tf.js';

/** x · γ / √(mean(x²) + ε) over the last dimension, as HF's LlamaRMSNorm and T5LayerNorm compute it in float32. */
export type RmsNorm = (x: tf.Tensor2D, gamma: tf.Tensor1D, epsilon: number) => tf.Tensor2D;

function portableRmsNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, epsilon: number): tf.Tensor2D {
  return tf.mul(gamma, tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), epsilon))));
}

/** The addon's kernel (`native`) or the TF.js composition. */
export const rmsNormFor = (native: boolean): RmsNorm => (native ? nativeRmsNorm : portableRmsNorm);
