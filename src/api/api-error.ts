/** An error a route answers with: its HTTP status and machine-readable code. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
    Object.setPrototypeOf(this, ApiError.prototype);
  }
}

export const notFound = (what: string, id: string) => new ApiError(404, 'NOT_FOUND', `no ${what} ${id}`);
