/** JSON API: search and documents. */
import { Router } from 'express';
import { searchWithAnnotations } from '../services/annotated-search.js';
import { EmbeddedAnnotationBackend } from '../backends/embedded/annotations.js';
import { EmbeddedSearchBackend } from '../backends/embedded/search.js';
import { parseQuery } from '../pipeline/query.js';
import { MAX_LIMIT, type SearchHit } from '../backends/search-contract.js';
import type { PaperCatalog } from '../backends/types.js';
import { passagePages } from '../pipeline/pages.js';
import type { AppDeps } from './deps.js';
import { UserInputError } from '../core/errors.js';
import { flag, int, lang, str } from './params.js';
import { viewerOf } from './accounts.js';
import { textLength } from '../backends/embedded/texts.js';

/** `match` parameter: `strict` never falls back to best match; absent or `auto`, it does when strict matching is thin. */
export function matchParam(query: Record<string, unknown>): 'auto' | 'strict' {
  const s = str(query, 'match');
  if (s === '' || s === 'auto') return 'auto';
  if (s !== 'strict') throw new UserInputError('bad_parameter', '"match" must be strict or auto');
  return s;
}

/** `group` parameter: `paper` groups hits by paper; absent or empty, a flat list. */
export function groupParam(query: Record<string, unknown>): 'paper' | undefined {
  const s = str(query, 'group');
  if (s === '' || s === 'none') return undefined;
  if (s !== 'paper') throw new UserInputError('bad_parameter', '"group" must be paper (or left out)');
  return s;
}

/** Options of a search request, as read from the query string (shared by the API and the search page). */
export function searchParams(query: Record<string, unknown>) {
  const doc = str(query, 'doc');
  return {
    q: str(query, 'q'),
    lang: lang(query),
    docs: doc ? [doc] : [],
    expand: flag(query, 'expand', true),
    limit: int(query, 'limit', 20, 1, MAX_LIMIT),
    offset: int(query, 'offset', 0, 0, 1_000_000),
    group: groupParam(query),
    match: matchParam(query),
    perPaper: int(query, 'perPaper', 3, 1, MAX_LIMIT),
  };
}

/** Summary of a document for listings. */
export function documentSummary(engine: PaperCatalog, id: string) {
  const d = engine.requireDocument(id);
  return {
    id: d.id,
    title: d.title,
    authors: d.authors,
    year: d.year,
    venue: d.venue,
    lang: d.lang,
    chars: textLength(d),
    passages: d.passages.length,
  };
}

/** The `/api` router. */
export function apiRouter(deps: AppDeps): Router {
  const { engine, store } = deps;
  const r = Router();

  const search = deps.search ?? new EmbeddedSearchBackend(engine);
  const annotations = deps.annotations ?? (store && new EmbeddedAnnotationBackend(store));
  r.get('/search', async (req, res) => {
    const p = searchParams(req.query);
    const result = annotations
      ? await searchWithAnnotations(search, annotations, p.q, p, viewerOf(res).name)
      : await search.search(p.q, parseQuery(p.q), p);
    // Each hit with the pages its passage stands on (null for a paper without page information).
    const paged = (h: SearchHit) => {
      const d = engine.document(h.docId);
      const p = engine.passage(h.passageId);
      return { ...h, page: d && p ? passagePages(d, p) : null };
    };
    res.json({
      query: result.query,
      total: result.total,
      // 'gte' above the engine's exact-count cap: `total` and `perDocument` are then lower bounds.
      totalRelation: result.totalRelation,
      mode: result.mode,
      strictTotal: result.strictTotal,
      ...(result.notice === undefined ? {} : { notice: result.notice }),
      hits: result.hits.map(paged),
      ...(result.groups === undefined ? {} : { groups: result.groups.map((g) => ({ ...g, hits: g.hits.map(paged) })) }),
      // Below a short strict result: passages holding part of the query (not counted in `total`).
      ...(result.near === undefined ? {} : { near: result.near.map(paged) }),
      perDocument: result.perDocument,
    });
  });

  r.get('/status', (_req, res) => {
    const s = deps.status;
    res.json({
      indexing: s?.indexing ?? false,
      progress: s?.progress ?? null,
      last: s?.last ?? null,
      problems: s?.problems ?? [],
      documents: engine.documents().length,
    });
  });

  r.get('/documents', (_req, res) => {
    res.json({ documents: engine.documents().map((d) => documentSummary(engine, d.id)) });
  });

  r.get('/documents/:id', (req, res) => {
    const d = engine.requireDocument(req.params.id);
    res.json({
      ...documentSummary(engine, d.id),
      text: d.text,
      passages: d.passages.map((p) => ({
        id: p.id,
        kind: p.kind,
        lang: p.lang,
        section: p.section,
        start: p.start,
        end: p.end,
        pieces: p.pieces,
        page: passagePages(d, p),
      })),
    });
  });

  return r;
}
