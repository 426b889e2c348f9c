/**
 * The web app: routes over the engine and the store, nothing more. Built by
 * {@link createApp} without listening, so tests run it on an ephemeral port.
 */
import { hostname, networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import cookieParser from 'cookie-parser';
import express, { type Express } from 'express';
import { EmbeddedAnnotationBackend } from '../backends/embedded/annotations.js';
import { EmbeddedSearchBackend } from '../backends/embedded/search.js';
import { embeddedAccounts } from '../backends/embedded/accounts.js';
import { analysisApiRouter, analysisPagesRouter } from './analysis.js';
import { annotationsRouter } from './annotations-api.js';
import { apiRouter } from './api.js';
import { documentsRouters } from './documents-api.js';
import type { AppDeps } from './deps.js';
import { databaseUnavailable, embeddedOnlyRouter } from './embedded-only.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { pagesRouter } from './pages.js';
import { FlashMessages } from './flash.js';
import { languageRouter, uiLanguage } from './i18n.js';
import { accountGate } from './accounts.js';
import { roleGate } from './roles.js';
import { usersRouter } from './users-api.js';
import { roundsRouters } from './rounds.js';
import { IMPLICIT_OWNER } from '../store/users.js';
import { allowedHostsOnly, hostRules, isWildcard, sameOriginWrites, securityHeaders, tokenGate } from './security.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Build the Express app (does not listen). */
export function createApp(given: AppDeps): Express {
  // Every route reaches annotations and search through the backends (embedded unless given).
  const annotations = given.annotations ?? (given.store ? new EmbeddedAnnotationBackend(given.store) : undefined);
  const deps: AppDeps = { ...given, search: given.search ?? new EmbeddedSearchBackend(given.engine), ...(annotations && { annotations }) };
  const lab = deps.search?.kind === 'postgres';
  const app = express();
  app.disable('x-powered-by');
  app.set('view engine', 'ejs');
  app.set('views', `${ROOT}views`);
  // Compile each template once per process. Express caches views only under NODE_ENV=production, which
  // `npm start` does not set: every page read and compiled its templates again (the annotations page its
  // card template once per card). `npm run dev` restarts when a template changes.
  app.set('view cache', true);
  app.set('query parser', 'simple');
  const { access } = deps;
  if (access.trustProxy !== undefined) app.set('trust proxy', access.trustProxy);
  const hosts = hostRules(access.allowedHosts, access.bindHost, access.bindHost && isWildcard(access.bindHost) ? machineNames() : []);
  app.use(securityHeaders());
  // The interface language first: every answer after it, a refusal included, is a page in the
  // reader's language (before sign-in, so the login page speaks it and can switch it).
  app.use(cookieParser());
  app.use(uiLanguage());
  // Before anything that serves: a request for another host name (DNS rebinding) gets nothing.
  app.use(allowedHostsOnly(hosts));
  app.use('/static', express.static(`${ROOT}public`, { fallthrough: false, index: false, maxAge: '1h' }));
  app.use(sameOriginWrites(hosts));
  app.use(languageRouter());
  // With a store, accounts (and, until one exists, the token or nothing for the one owner); without, the token only.
  const accounts = deps.accounts ?? (deps.store ? embeddedAccounts(deps.store.db) : undefined);
  const users = accounts?.users;
  if (users) app.use(accountGate(access.auth, users));
  else {
    if (access.auth !== 'none') app.use(tokenGate(access.auth.token));
    app.use((_req, res, next) => {
      res.locals.viewer = { name: IMPLICIT_OWNER, role: 'owner' };
      next();
    });
  }
  app.use(roleGate());
  const flash = new FlashMessages();
  app.use(flash.take());
  app.use((_req, res, next) => {
    res.locals.indexing = deps.status?.indexing ? deps.status.progress : null;
    res.locals.problems = deps.status?.problems ?? [];
    next();
  });
  app.use('/api', express.json({ limit: '1mb' }));
  // The lab-server mode answers what it does not serve yet with a 501 naming it.
  if (lab) app.use(embeddedOnlyRouter());
  app.use('/api', apiRouter(deps));
  app.use('/api', analysisApiRouter(deps));
  // After the token gate and the same-origin check, like every other write.
  const documents = documentsRouters(deps, flash);
  if (documents) {
    app.use('/api', documents.api);
    app.use('/', documents.pages);
  }
  if (annotations) app.use('/api', annotationsRouter(deps.engine, annotations));
  if (accounts && annotations) {
    app.use('/api', usersRouter(accounts.users));
    const rounds = roundsRouters(deps.engine, annotations, accounts.rounds, accounts.users, flash);
    app.use('/api', rounds.api);
    app.use('/', rounds.pages);
  }
  app.use('/', pagesRouter(deps));
  app.use('/', analysisPagesRouter(deps));
  app.use(notFoundHandler);
  // The lab server's database away (down, restarting): 503 and a message, not a 500; the next request reconnects.
  if (lab) app.use(databaseUnavailable);
  app.use(errorHandler);
  return app;
}

/** Every address of this machine's interfaces and its host name: the names a wildcard bind is reached by. */
function machineNames(): string[] {
  const names = [hostname()];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.push(a.address);
  return names;
}
