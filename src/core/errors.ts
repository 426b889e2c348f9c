/**
 * A mistake of the user's (a bad query, an unknown document, an offset out of
 * range): shown to them with a clear message and a 4xx status. Anything else
 * that is thrown is a bug and becomes a 500.
 */
export class UserInputError extends Error {
  /** A stable, machine-readable code such as `bad_query` or `unknown_document`. */
  readonly code: string;
  /** HTTP status the error handler answers with. */
  readonly status: number;

  /**
   * @param code - machine-readable code, snake_case
   * @param message - English message, with the Chinese the UI shows where useful
   * @param status - HTTP status, 400 by default
   */
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = 'UserInputError';
    this.code = code;
    this.status = status;
  }
}

/** Shorthand for the 404 of an unknown resource. */
export function notFound(what: string, id: string): UserInputError {
  return new UserInputError('not_found', `No ${what} "${id}" (未找到)`, 404);
}
