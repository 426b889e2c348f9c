/**
 * The one place where errors become answers: a UserInputError is the user's
 * mistake (4xx with its message), anything else is a bug (500, logged, with
 * no internals shown). `/api` gets JSON `{error:{code,message}}`, pages get
 * the error page.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { UserInputError } from '../core/errors.js';
import { storageFailure } from '../store/db.js';
import { pgUserError } from '../backends/postgres/db.js';

interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
  message?: string;
}

/**
 * The storage failures a researcher can act on, as answers: a full disk (507
 * `disk_full`) and a folder that cannot be written (503 `storage_read_only`);
 * `null` for any other error. Every write is one SQLite transaction or a temp
 * file renamed into place, so such a failure leaves nothing half-written.
 */
export function storageUserError(err: unknown): UserInputError | null {
  const failure = storageFailure(err);
  if (failure === 'full') {
    return new UserInputError(
      'disk_full',
      'The disk is full: nothing was saved, and what was there before is unchanged. Free some space and try again (磁盘已满，未保存)',
      507,
    );
  }
  if (failure === 'read_only') {
    return new UserInputError(
      'storage_read_only',
      "duikou's data or corpus folder cannot be written: nothing was saved. Check that the folder is writable and try again (文件夹不可写，未保存)",
      503,
    );
  }
  return null;
}

/** Turn body-parser and similar errors (which carry a 4xx status), and storage failures, into UserInputErrors. */
function classify(err: unknown): UserInputError | null {
  if (err instanceof UserInputError) return err;
  const storage = storageUserError(err);
  if (storage) return storage;
  // A value PostgreSQL refuses (a NUL character), wherever it came from: the request's mistake.
  const refused = pgUserError(err);
  if (refused) return refused;
  const e = err as HttpishError;
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (e.type === 'entity.parse.failed')
      return new UserInputError('bad_json', 'The request body is not valid JSON (请求内容不是有效的 JSON)');
    if (e.type === 'entity.too.large') return new UserInputError('too_large', 'The request body is too large (请求内容过大)', 413);
    return new UserInputError('bad_request', e.expose && e.message ? e.message : 'Bad request', status);
  }
  return null;
}

/**
 * Whether a request's path is the JSON API's, `/api` or under it, in any
 * letter case: Express routes paths case-insensitively, so `/API/search`
 * reaches the API and must be refused or answered as the API is.
 */
export function isApiPath(path: string): boolean {
  const p = path.toLowerCase();
  return p === '/api' || p.startsWith('/api/');
}

/** Express error handler: the last middleware of the app. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const user = classify(err);
  const status = user ? user.status : 500;
  const code = user ? user.code : 'internal_error';
  const message = user ? user.message : 'Something went wrong on our side; the error has been logged (服务器内部错误)';
  if (res.headersSent) {
    // A download that failed half-way: cut the connection, so the browser reports a failed download
    // instead of ending the chunked body cleanly and leaving a truncated file that looks complete.
    // A client that went away needs no log entry.
    if (!user && (err as { code?: unknown } | null)?.code !== 'ERR_STREAM_PREMATURE_CLOSE') console.error(err);
    res.destroy();
    return;
  }
  if (!user) console.error(err);
  // A full disk or a read-only folder is the researcher's to fix: say so on the console too.
  else if (storageFailure(err) !== null)
    console.error(`duikou: ${req.method} ${req.path} failed: ${(err as Error).message} (${user.code})`);
  res.status(status);
  if (isApiPath(req.path)) {
    res.json({ error: { code, message } });
  } else {
    // The language switch goes back home from an error page: the address is not repeated into the page.
    res.locals.currentUrl = '/';
    // The error page itself failing (a bug) leaves a plain answer, never Express's own page with
    // the stack and the install's paths in it.
    const plain = (renderErr: unknown): void => {
      console.error(renderErr);
      res.type('text/plain').send(`${status} ${message}`);
    };
    try {
      res.render('error', { status, code, message, title: `${status}` }, (renderErr: Error | null, html?: string) =>
        renderErr ? plain(renderErr) : res.send(html),
      );
    } catch (renderErr) {
      plain(renderErr);
    }
  }
};

/**
 * 404 for any route nobody answered. The path is not repeated: a link could
 * otherwise make the page say anything its author wrote, as if duikou said it.
 */
export const notFoundHandler: RequestHandler = (_req, _res, next) => {
  next(new UserInputError('not_found', 'There is nothing at this address (页面不存在)', 404));
};
