/** A page cursor that is not one of the tenant's jobs. `statusCode` and `code` are what the API's error handler reads. */
export class InvalidCursorError extends Error {
  readonly code = 'INVALID_CURSOR';
  readonly statusCode = 400;

  constructor(readonly cursor: string) {
    super(`cursor "${cursor}" does not name a job of this tenant`);
    this.name = 'InvalidCursorError';
    Object.setPrototypeOf(this, InvalidCursorError.prototype);
  }
}
