import { tf } from './tf.js';

const GELU_SCALE = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation (HF `gelu_new`): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => {
    const cubic = tf.mul(tf.mul(tf.mul(x, x), x), 0.044715);
    return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, cubic), GELU_SCALE))));
  });
}
