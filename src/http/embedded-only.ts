/**
 * The lab-server (PostgreSQL) mode's own answers: a 501 naming each feature
 * it does not serve yet (JSON under /api, the error page elsewhere) instead
 * of a crash or an empty page that would read as "no results", and a 503
 * while its database is away.
 */
import { type ErrorRequestHandler, Router } from 'express';
import { isDatabaseUnavailable } from '../backends/postgres/db.js';
import { embeddedOnly } from '../backends/types.js';
import { UserInputError } from '../core/errors.js';

/** Each feature and the routes it has. */
const FEATURES: { feature: string; routes: { method: 'all' | 'post' | 'patch' | 'delete'; path: string }[] }[] = [
  {
    feature: 'Adding, editing and removing papers from the app (put them in the indexing instance’s corpus folder instead)',
    routes: [
      { method: 'post', path: '/api/documents' },
      { method: 'patch', path: '/api/documents/:id' },
      { method: 'delete', path: '/api/documents/:id' },
      { method: 'post', path: '/documents' },
      { method: 'post', path: '/documents/:id/metadata' },
      { method: 'post', path: '/documents/:id/remove' },
    ],
  },
];

/** Routes answering 501 for every feature the lab-server mode lacks. */
export function embeddedOnlyRouter(): Router {
  const r = Router();
  for (const { feature, routes } of FEATURES) {
    for (const { method, path } of routes) {
      r[method](path, () => {
        throw embeddedOnly(feature);
      });
    }
  }
  return r;
}

let lastLogged = 0;

/** Turn "the database is away" into a 503 the error handler shows (every write was one transaction: nothing is half-written). */
export const databaseUnavailable: ErrorRequestHandler = (err, _req, _res, next) => {
  if (!isDatabaseUnavailable(err)) {
    next(err);
    return;
  }
  // Once per outage-ish, not once per request.
  if (Date.now() - lastLogged > 10_000) {
    lastLogged = Date.now();
    console.error(`duikou: the database is unavailable (${(err as Error).message}); answering 503 until it is back`);
  }
  next(
    new UserInputError(
      'database_unavailable',
      'The lab server’s database cannot be reached just now; nothing was changed. Try again in a moment (数据库暂时无法连接，请稍后重试)',
      503,
    ),
  );
};
