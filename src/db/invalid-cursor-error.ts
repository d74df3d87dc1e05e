/** A page cursor that is not one of the tenant's rows. `statusCode` and `code` are what the API's error handler reads. */
export class InvalidCursorError extends Error {
  readonly code = 'INVALID_CURSOR';
  readonly statusCode = 400;

  constructor(readonly cursor: string, what = 'job') {
    super(`cursor "${cursor}" does not name a ${what} of this tenant`);
    this.name = 'InvalidCursorError';
    Object.setPrototypeOf(this, InvalidCursorError.prototype);
  }
}
