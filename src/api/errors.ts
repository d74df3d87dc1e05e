import type { FastifyError, FastifyInstance } from 'fastify';

/** The body of every error response: `{ error: { code, message, details? } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

/** Maps validation failures, unknown routes and crashes to the error body; hides 5xx messages. */
export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation) {
      return reply.code(400).send(errorBody('VALIDATION_FAILED', err.message, err.validation));
    }
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.code(status).send(errorBody('INTERNAL', 'internal server error'));
    }
    return reply.code(status).send(errorBody(err.code ?? 'BAD_REQUEST', err.message));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url}`)),
  );
}
