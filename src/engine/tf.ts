/**
 * The one TensorFlow.js entry point of the engine. The union package registers every gradient
 * (tfjs-core alone lacks some); the wasm backend registers itself on import.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export { tf };
