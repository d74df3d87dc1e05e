/** Machine-readable reasons the engine refuses or fails; callers map them to HTTP, CLI or job errors. */
export type EngineErrorCode =
  | 'BACKEND_UNAVAILABLE'
  /** The backend aborted or ran out of memory during a step, an evaluation or inference. */
  | 'BACKEND_FAILED'
  | 'BAD_ARGUMENT'
  | 'DATASET_INVALID'
  | 'DEVICE_FAILED'
  | 'CANCELLED'
  | 'CHECKPOINT_INVALID'
  | 'PROMPT_FILE_INVALID'
  /** A PEFT adapter that is not a prompt-tuning adapter for the model it is brought to. */
  | 'ADAPTER_INVALID'
  | 'TRAINING_DIVERGED'
  | 'SAFETENSORS_INVALID'
  | 'TOKENIZER_INVALID'
  | 'MODEL_CONFIG_INVALID'
  | 'MODEL_UNSUPPORTED'
  | 'MODEL_WEIGHTS_MISMATCH'
  /** The model is not one this process serves (its configuration leaves it out). */
  | 'MODEL_NOT_SERVED'
  /** A model's weights do not fit the memory the process has for them: nothing was loaded. */
  | 'MODEL_TOO_LARGE'
  /** A pass's activations would not fit: nothing was allocated; smaller or shorter batches would. */
  | 'BATCH_TOO_LARGE'
  | 'SEQUENCE_TOO_LONG'
  | 'TENSOR_TOO_LARGE';

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EngineError';
    Object.setPrototypeOf(this, EngineError.prototype);
  }
}
