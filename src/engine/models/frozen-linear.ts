import { tf } from '../tf.js';

/**
 * y = x·W + b with W [in, out] frozen. Its custom gradient returns only dx = dy·Wᵀ (weights never
 * train), and uses a precomputed Wᵀ where the backend's transposed matMul is slow.
 */
export class FrozenLinear {
  readonly apply: (x: tf.Tensor2D) => tf.Tensor2D;

  /**
   * @param weight [in, out]
   * @param bias [out], or null for none
   * @param weightT [out, in], the transpose of `weight`; null to transpose inside matMul instead
   */
  constructor(weight: tf.Tensor2D, bias: tf.Tensor1D | null, weightT: tf.Tensor2D | null) {
    this.apply = tf.customGrad((x) => {
      const input = x as tf.Tensor2D;
      return {
        value: tf.fused.matMul({ a: input, b: weight, ...(bias ? { bias } : {}) }),
        gradFunc: (dy: tf.Tensor) => (weightT ? tf.matMul(dy as tf.Tensor2D, weightT) : tf.matMul(dy as tf.Tensor2D, weight, false, true)),
      };
    }) as (x: tf.Tensor2D) => tf.Tensor2D;
  }
}
