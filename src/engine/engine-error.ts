/** Machine-readable reasons the engine refuses or fails; callers map them to HTTP, CLI or job errors. */
export type EngineErrorCode =
  | 'BACKEND_UNAVAILABLE'
  | 'BAD_ARGUMENT'
  | 'SAFETENSORS_INVALID'
  | 'TOKENIZER_INVALID'
  | 'MODEL_CONFIG_INVALID'
  | 'MODEL_UNSUPPORTED'
  | 'MODEL_WEIGHTS_MISMATCH'
  | 'SEQUENCE_TOO_LONG';

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
