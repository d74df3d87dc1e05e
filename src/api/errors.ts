import type { FastifyError, FastifyInstance } from 'fastify';
import { EngineError } from '../engine/engine-error.js';
import { ApiError } from './api-error.js';

/** The body of every error response: `{ error: { code, message, details? } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

/** Engine errors are the caller's fault unless they concern the deployment's own model. */
const ENGINE_STATUS: Partial<Record<EngineError['code'], number>> = {
  BACKEND_UNAVAILABLE: 503,
  DEVICE_FAILED: 503,
  MODEL_CONFIG_INVALID: 500,
  MODEL_WEIGHTS_MISMATCH: 500,
  SAFETENSORS_INVALID: 500,
  TOKENIZER_INVALID: 500,
};

/** Maps validation failures, engine and API errors, unknown routes and crashes to the error body; hides 5xx messages. */
export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ApiError | EngineError, request, reply) => {
    if ('validation' in err && err.validation) {
      return reply.code(400).send(errorBody('VALIDATION_FAILED', err.message, err.validation));
    }
    const given = (err as { statusCode?: number }).statusCode;
    let status = typeof given === 'number' && given >= 400 ? given : 500;
    let code = (err as { code?: string }).code ?? 'BAD_REQUEST';
    if (err instanceof EngineError) {
      status = ENGINE_STATUS[err.code] ?? 400;
      code = err.code;
    }
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.code(status).send(errorBody(status === 503 ? code : 'INTERNAL', status === 503 ? err.message : 'internal server error'));
    }
    return reply.code(status).send(errorBody(code, err.message, err instanceof ApiError ? err.details : undefined));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url}`)),
  );
}
