/**
 * The web app: routes over the engine and the store, nothing more. Built by
 * {@link createApp} without listening, so tests run it on an ephemeral port.
 */
import express, { type Express } from 'express';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../engine.js';
import { apiRouter } from './api.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { pagesRouter } from './pages.js';

/** What the app serves. */
export interface AppDeps {
  engine: Engine;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Build the Express app (does not listen). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('view engine', 'ejs');
  app.set('views', `${ROOT}views`);
  app.set('query parser', 'simple');
  app.use('/static', express.static(`${ROOT}public`, { fallthrough: false, index: false, maxAge: '1h' }));
  app.use('/api', express.json({ limit: '1mb' }), apiRouter(deps));
  app.use('/', pagesRouter(deps));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
