/**
 * The part of TF.js's engine state that records a gradient tape (tfjs-core's engine.ts), which
 * TF.js does not expose: whether a tape records, and the nodes it has taped so far.
 */
import { tf } from './tf.js';

export interface TapeState {
  gradientDepth: number;
  activeTape: Array<{ saved?: tf.Tensor[] }> | null;
}

export const tapeState = () => (tf.engine() as unknown as { state: TapeState }).state;

/** Whether a gradient tape is recording: a pass then keeps its activations until the backward pass. */
export const isRecordingGradients = () => tapeState().gradientDepth > 0;
