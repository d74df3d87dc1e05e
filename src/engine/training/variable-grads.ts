import { tapeState } from '../gradient-tape.js';
import { tf } from '../tf.js';

/**
 * tf.variableGrads that cleans up after itself when it throws. TF.js keeps the tensors each taped
 * op saves for the backward pass (the activations: most of a step's memory) and frees them only
 * when a backward pass completes, so a step that fails midway (out of memory) would leak them
 * all, and every later step would find the heap that much fuller.
 */
export function variableGrads(f: () => tf.Scalar, variables: tf.Variable[]): ReturnType<typeof tf.variableGrads> {
  try {
    return tf.variableGrads(f, variables);
  } catch (err) {
    const state = tapeState();
    if (state.gradientDepth === 0 && state.activeTape) {
      for (const node of state.activeTape) tf.dispose(node.saved ?? []);
      state.activeTape = null;
    }
    throw err;
  }
}
