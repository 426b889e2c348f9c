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

/** Where in a file of the researcher's a problem lies (1-based line and column, when known). */
export interface FileProblem {
  /** The file's name (inside the corpus folder) or path. */
  file: string;
  line?: number;
  column?: number;
  /** The document id of a faulty entry, for a file keyed by id. */
  entry?: string;
  /** A few lines of the file around the mistake, with a caret, for the console. */
  excerpt?: string;
}

/**
 * A file the researcher keeps (metadata, glossary) that duikou cannot use as
 * it is: a UserInputError whose message names the file and, when known, the
 * line and column, which are also kept as fields for the status bar.
 */
export class FileProblemError extends UserInputError {
  /** Where the problem is. */
  readonly where: FileProblem;

  constructor(code: string, message: string, where: FileProblem, status = 400) {
    super(code, message, status);
    this.name = 'FileProblemError';
    this.where = where;
  }
}
