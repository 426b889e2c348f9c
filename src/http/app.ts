/**
 * The web app: routes over the engine and the store, nothing more. Built by
 * {@link createApp} without listening, so tests run it on an ephemeral port.
 */
import cookieParser from 'cookie-parser';
import express, { type Express } from 'express';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../engine.js';
import type { CorpusSync, IndexStatus } from '../watch.js';
import type { AnnotationStore } from '../store/annotations.js';
import { annotationsRouter } from './annotations-api.js';
import { apiRouter } from './api.js';
import { type UploadLimits, documentsRouters } from './documents-api.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { FlashMessages } from './flash.js';
import { pagesRouter } from './pages.js';
import { sameOriginWrites, securityHeaders, tokenGate } from './security.js';

/** What the app serves. */
export interface AppDeps {
  engine: Engine;
  /** The annotation store; without it the app is search-only. */
  store?: AnnotationStore;
  /** Shared access token; when set, every request must present it. */
  token?: string;
  /** Indexing state, shown on every page and at /api/status while the corpus is being indexed. */
  status?: IndexStatus;
  /** Syncs the corpus folder into the engine; with `corpusDir` and `dataDir`, papers can be added, edited and removed from the app. */
  sync?: CorpusSync;
  /** The corpus folder (papers and `duikou.metadata.json`). */
  corpusDir?: string;
  /** The data folder; removed papers are moved to its `removed/`. */
  dataDir?: string;
  /** Upload limits (default 20 files of at most 200 MB per request). */
  upload?: UploadLimits;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Build the Express app (does not listen). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('view engine', 'ejs');
  app.set('views', `${ROOT}views`);
  app.set('query parser', 'simple');
  app.use(securityHeaders());
  app.use('/static', express.static(`${ROOT}public`, { fallthrough: false, index: false, maxAge: '1h' }));
  app.use(cookieParser());
  if (deps.token) app.use(tokenGate(deps.token));
  app.use(sameOriginWrites);
  const flash = new FlashMessages();
  app.use(flash.take());
  app.use((_req, res, next) => {
    res.locals.indexing = deps.status?.indexing ? deps.status.progress : null;
    next();
  });
  app.use('/api', express.json({ limit: '1mb' }));
  app.use('/api', apiRouter(deps));
  // After the token gate and the same-origin check, like every other write.
  const documents = documentsRouters(deps, flash);
  if (documents) {
    app.use('/api', documents.api);
    app.use('/', documents.pages);
  }
  if (deps.store) app.use('/api', annotationsRouter(deps.engine, deps.store));
  app.use('/', pagesRouter(deps));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
