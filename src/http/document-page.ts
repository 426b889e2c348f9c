/**
 * The document page's view model: the paper as HTML with its search matches
 * and annotations marked, and what its annotating and managing forms need.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Request } from 'express';
import { UserInputError } from '../core/errors.js';
import type { CorpusDocument, MatchSpan } from '../core/types.js';
import { passagesAt, quoteSpans } from '../pipeline/quote.js';
import { documentSummary } from './api.js';
import type { AppDeps } from './deps.js';
import type { AnnotationBackend, SearchBackend, PaperCatalog } from '../backends/types.js';
import { PALETTE } from './annotation-pages.js';
import { flag, lang, str } from './params.js';
import { closestMatches } from '../services/closest-matches.js';
import { parseQuery } from '../pipeline/query.js';
import { annotationRestrictVia } from '../services/annotated-search.js';
import type { Viewer } from '../store/users.js';
import { tr } from './i18n.js';
import { type AnnotationMark, type DocMark, type MarkOptions, documentBodyHtml, htmlLang } from './passage-html.js';
import { type Query, searchUrl } from './search-page.js';

// --- document page ----------------------------------------------------------

/**
 * The annotations of a document drawn as highlights, by passage: those anchored on this very text
 * (a changed paper's annotations are drawn again once re-anchored on it). Read as keys: a highlight
 * needs no note, and a paper's thousand long notes are megabytes.
 */
async function annotationMarks(doc: CorpusDocument, store: AnnotationBackend, viewer: Viewer): Promise<Map<number, AnnotationMark[]>> {
  const out = new Map<number, AnnotationMark[]>();
  for (const a of await store.listKeys({ docId: doc.id, orphaned: false, viewer: viewer.name })) {
    if (a.textHash !== doc.hash) continue;
    // A quote across a page-break join is drawn over its own text only: the
    // footnote or running header in the break, shown apart, is not part of it.
    const spans = quoteSpans(passagesAt(doc.passages, a.start, a.end), a.start, a.end);
    for (const span of spans) {
      const mark: AnnotationMark = { ...span, annotation: { id: a.id, colour: a.colour, tags: a.tags } };
      for (const p of doc.passages) {
        if (p.start < mark.end && mark.start < p.end) out.set(p.id, [...(out.get(p.id) ?? []), mark]);
      }
    }
  }
  return out;
}

/** What the document page's annotation script needs: the paper, and the annotation a selection re-attaches, if any. */
async function annotateState(store: AnnotationBackend, docId: string, query: Query, viewer: Viewer) {
  // Readers read; the annotating script is for coders and the owner.
  if (viewer.role === 'reader') return null;
  const id = str(query, 'reattach');
  const a = id ? await store.get(id, viewer.name) : null;
  if (id && (!a || a.docId !== docId))
    throw new UserInputError('not_found', `No annotation "${id}" in this paper (本文中未找到该标注)`, 404);
  return { docId, palette: PALETTE, reattach: a ? { id: a.id, exact: a.exact } : null };
}

/**
 * The document page's view model: the paper with the matches of `q` and the
 * annotations `viewer` may see marked.
 * @throws UserInputError for an unknown paper or annotation to re-attach
 */
export async function documentPage(
  engine: PaperCatalog,
  backend: SearchBackend,
  req: Request,
  id: string,
  viewer: Viewer,
  store?: AnnotationBackend,
) {
  const doc = engine.requireDocument(id);
  const query = req.query as Query;
  const q = str(query, 'q');
  const marksByPassage = new Map<number, DocMark[]>(store ? await annotationMarks(doc, store, viewer) : []);
  let search: { q: string; total: number; closest: boolean; near: boolean; concordanceUrl: string } | null = null;
  let opts: MarkOptions = {};
  if (q.trim() !== '') {
    // Every match in the paper, found as the concordance finds them (same
    // query, language and expansion), so a concordance line's `#m-<n>` is this page's n-th match.
    const parsed = parseQuery(q);
    const language = lang(query);
    const expand = flag(query, 'expand', true);
    const filter = store ? await annotationRestrictVia(store, parsed, undefined, viewer.name) : {};
    const all: MatchSpan[] = [];
    const matchOpts = { docs: [id], expand, ...(language ? { lang: language } : {}), ...filter };
    // Through the search backend: the lab server's papers are indexed in the database, not here.
    // A best-match hit (a question) opened here: the words that made it a hit, when the query as typed has no match.
    // Opened from a near match (`near=1`): the words that made it one.
    const { matches: found, closest, near } = await closestMatches(backend, parsed, matchOpts, flag(query, 'near', false));
    for (const m of found) {
      marksByPassage.set(m.passage.id, [...(marksByPassage.get(m.passage.id) ?? []), ...m.matches]);
      all.push(...m.matches);
    }
    all.sort((a, b) => a.start - b.start || a.end - b.end);
    const ids = new Map<MatchSpan, string>();
    for (const [i, m] of all.entries()) ids.set(m, `m-${i + 1}`);
    opts = { markId: (m) => ids.get(m) };
    const u = new URLSearchParams({ q, doc: id });
    if (language) u.set('lang', language);
    if (!expand) u.set('expand', '0');
    search = { q, total: all.length, closest, near, concordanceUrl: `/concordance?${u.toString()}` };
  }
  return {
    title: `${doc.title} · duikou`,
    active: 'documents',
    htmlLang: htmlLang(doc.lang),
    doc: { ...documentSummary(engine, id), url: `/documents/${encodeURIComponent(id)}` },
    search,
    q,
    searchAllUrl: q ? searchUrl({ q, lang: '', doc: '', expand: true, limit: 20, offset: 0, view: 'list' }) : null,
    hasTitle: doc.passages.some((p) => p.kind === 'title'),
    annotate: store ? await annotateState(store, id, query, viewer) : null,
    bodyHtml: documentBodyHtml(doc, marksByPassage, { ...opts, anchored: new Set(), labels: markLabels(req) }),
  };
}

/** The interface's words inside a paper's text: page markers and untagged highlights. */
function markLabels(req: Request): MarkOptions['labels'] {
  const t = tr(req.res!);
  return { page: (n) => t('page.n', { n }), annotation: t('ann.title') };
}

/** What the document page's metadata form and remove step need. */
export function manageState(doc: CorpusDocument, deps: AppDeps) {
  const { store } = deps;
  return {
    file: doc.file,
    // A paper not in the library's own folder is one of the read-only sample papers: removing it hides it.
    sample: !!deps.sampleDir && !!deps.corpusDir && !existsSync(join(deps.corpusDir, doc.file)),
    annotationCount: store ? store.listKeys({ docId: doc.id }).length : 0,
    title: doc.title,
    authors: doc.authors.join('\n'),
    year: doc.year === null ? '' : String(doc.year),
    venue: doc.venue ?? '',
    lang: doc.lang,
  };
}
