/**
 * Server-rendered pages: search (list and KWIC views), the document reader
 * and the document list. Works without client JavaScript.
 *
 * The handlers turn engine results into plain view models (search-page.ts,
 * document-page.ts); the marked passage HTML they hold is built in
 * passage-html.ts.
 */
import { Router, type RequestHandler } from 'express';
import { UserInputError } from '../core/errors.js';
import type { AppDeps } from './deps.js';
import { EmbeddedAnnotationBackend } from '../backends/embedded/annotations.js';
import { EmbeddedSearchBackend } from '../backends/embedded/search.js';
import { annotationPagesRouter } from './annotation-pages.js';
import { viewerOf } from './accounts.js';
import { MAX_UPLOAD_FILES, MAX_UPLOAD_FILE_BYTES, PAPER_EXTENSIONS } from './documents-api.js';
import { tr } from './i18n.js';
import { documentsView, searchErrorPage, searchPage } from './search-page.js';
import { documentPage, manageState } from './document-page.js';

/** The pages router: `/`, `/search`, `/documents`, `/documents/:id`. */
export function pagesRouter(deps: AppDeps): Router {
  const { engine, store } = deps;
  const searchBackend = deps.search ?? new EmbeddedSearchBackend(engine);
  const annotations = deps.annotations ?? (store && new EmbeddedAnnotationBackend(store));
  /** Whether papers can be added, edited and removed here. */
  const manage = !!(deps.sync && deps.corpusDir && deps.dataDir);
  const upload = {
    accept: PAPER_EXTENSIONS.join(','),
    extensions: PAPER_EXTENSIONS.join(' '),
    maxFiles: deps.upload?.maxFiles ?? MAX_UPLOAD_FILES,
    maxMb: Math.round((deps.upload?.maxFileBytes ?? MAX_UPLOAD_FILE_BYTES) / 1024 / 1024),
  };
  const r = Router();
  r.use((req, res, next) => {
    res.locals.annotations = !!annotations;
    next();
  });

  const search: RequestHandler = async (req, res) => {
    let page;
    try {
      page = await searchPage(engine, searchBackend, req, annotations && { store: annotations, viewer: viewerOf(res).name });
    } catch (err) {
      if (!(err instanceof UserInputError)) throw err;
      res.status(err.status).render('search', searchErrorPage(engine, req, err));
      return;
    }
    res.render('search', page);
  };
  r.get('/', search);
  r.get('/search', search);

  r.get('/documents', (_req, res) => {
    res.render('documents', {
      title: `${tr(res)('title.documents')} · duikou`,
      active: 'documents',
      htmlLang: 'en',
      documents: documentsView(engine),
      upload: manage && viewerOf(res).role === 'owner' ? upload : null,
      // Files the last indexing left out (unreadable, or a second file of one id), each with its reason.
      skipped: deps.status?.last?.errors ?? [],
    });
  });

  r.get('/documents/:id', async (req, res) => {
    const page = await documentPage(engine, searchBackend, req, req.params.id, viewerOf(res), annotations);
    // Managing papers is the owner's (and the count of annotations would tell a blind coder about others').
    const owner = viewerOf(res).role === 'owner';
    res.render('document', { ...page, manage: manage && owner ? manageState(engine.requireDocument(req.params.id), deps) : null });
  });

  if (annotations) r.use(annotationPagesRouter(engine, annotations));
  return r;
}
