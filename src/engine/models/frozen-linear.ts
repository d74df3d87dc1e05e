import { tf } from '../tf.js';

/** y = x·W (+ b) for a frozen W: differentiable in x only, since the weights never train. */
export interface FrozenLinear {
  apply(x: tf.Tensor2D): tf.Tensor2D;
}

/** How a checkpoint stores a weight matrix: [in, out] (GPT-2's Conv1D) or [out, in] (torch.nn.Linear, and embeddings used as a tied head). */
export type MatrixLayout = 'in-out' | 'out-in';

/**
 * A frozen linear layer whose W is a backend tensor. Its custom gradient returns only dx = dy·Wᵀ.
 * Where the backend's transposed matMul is slow, the other orientation of W is kept as well, so
 * that neither pass transposes inside matMul.
 */
export class BackendLinear implements FrozenLinear {
  readonly apply: (x: tf.Tensor2D) => tf.Tensor2D;

  /**
   * @param stored W as the checkpoint stores it, in `layout`
   * @param bias [out], or null for none
   * @param flipped `stored` transposed, or null to transpose inside matMul instead
   */
  constructor(stored: tf.Tensor2D, layout: MatrixLayout, bias: tf.Tensor1D | null, flipped: tf.Tensor2D | null) {
    // W as [in, out] for the forward pass and as [out, in] for the backward one, each either a tensor or `stored` read transposed.
    const inOut = layout === 'in-out' ? { b: stored, transposeB: false } : flipped ? { b: flipped, transposeB: false } : { b: stored, transposeB: true };
    const outIn = layout === 'out-in' ? { b: stored, transposeB: false } : flipped ? { b: flipped, transposeB: false } : { b: stored, transposeB: true };
    this.apply = tf.customGrad((x) => ({
      value: tf.fused.matMul({ a: x as tf.Tensor2D, ...inOut, ...(bias ? { bias } : {}) }),
      gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, outIn.b, false, outIn.transposeB),
    })) as (x: tf.Tensor2D) => tf.Tensor2D;
  }
}
