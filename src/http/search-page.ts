/**
 * The search page's view model (list and KWIC views, grouped by paper, the
 * error page that keeps the search box), from a search backend's results.
 */
import type { Request } from 'express';
import { UserInputError } from '../core/errors.js';
import type { PageRange } from '../core/types.js';
import type { SearchHit, SearchResult } from '../backends/search-contract.js';
import { kwic } from '../pipeline/highlight.js';
import { pageLabel, passagePages } from '../pipeline/pages.js';
import { documentSummary, searchParams } from './api.js';
import type { AnnotationBackend, SearchBackend, PaperCatalog } from '../backends/types.js';
import { searchWithAnnotations } from '../services/annotated-search.js';
import { str } from './params.js';
import { parseQuery } from '../pipeline/query.js';
import { BEST_MATCH_BELOW } from '../pipeline/rank.js';
import { htmlLang, piecesHtml } from './passage-html.js';

// --- search page ------------------------------------------------------------

/** A request's query string, as Express parses it. */
export type Query = Record<string, unknown>;

/**
 * Read the search form. An unticked checkbox sends nothing, and `expand`
 * defaults to on, so the form sends `f=1` too: then a missing `expand` means off.
 */
function formQuery(q: Query): Query {
  if (str(q, 'f') === '1' && q.expand === undefined) return { ...q, expand: '0' };
  return q;
}

type View = 'list' | 'kwic';

function viewParam(q: Query): View {
  const v = str(q, 'view');
  if (v === '' || v === 'list') return 'list';
  if (v === 'kwic') return 'kwic';
  throw new UserInputError('bad_parameter', '"view" must be list or kwic');
}

interface SearchState {
  q: string;
  lang: string;
  doc: string;
  expand: boolean;
  limit: number;
  offset: number;
  view: View;
  /** `paper`: hits grouped by paper. */
  group?: 'paper';
}

/** `/search?…` for a state, leaving defaults out. */
export function searchUrl(s: SearchState): string {
  const u = new URLSearchParams();
  if (s.q) u.set('q', s.q);
  if (s.lang) u.set('lang', s.lang);
  if (s.doc) u.set('doc', s.doc);
  if (!s.expand) u.set('expand', '0');
  if (s.view !== 'list') u.set('view', s.view);
  if (s.limit !== 20) u.set('limit', String(s.limit));
  if (s.offset > 0) u.set('offset', String(s.offset));
  if (s.group) u.set('group', s.group);
  const qs = u.toString();
  return qs ? `/search?${qs}` : '/search';
}

/** Link to a passage in its document page, with the query so matches are marked there. */
export function passageUrl(docId: string, passageId: number, q: string, near = false): string {
  const qs = q ? `?${new URLSearchParams(near ? { q, near: '1' } : { q }).toString()}` : '';
  return `/documents/${encodeURIComponent(docId)}${qs}#p-${passageId}`;
}

/** A page range as the pages show it: `p. 12`, `pp. 12–13`; null without page information. */
function pageText(r: PageRange | null): string | null {
  if (!r) return null;
  return r.first === r.last ? `p. ${r.first}` : `pp. ${pageLabel(r)}`;
}

/**
 * A hit as the results page shows it. In best match, a hit with nothing
 * marked is there because its section's heading holds the query (see
 * rank-sections.ts): the page says so beside the section.
 */
function hitView(engine: PaperCatalog, h: SearchHit, q: string, mode: SearchResult['mode'], near = false) {
  const doc = engine.requireDocument(h.docId);
  const passage = engine.passage(h.passageId);
  const pieces = passage?.pieces ?? [{ start: h.start, end: h.end }];
  const via = [...new Set(h.matches.map((m) => m.via).filter((v): v is string => !!v))];
  return {
    ...h,
    // A near match opens with the words that made it one marked (see closestMatches).
    url: passageUrl(h.docId, h.passageId, q, near),
    htmlLang: htmlLang(h.lang),
    via,
    bySection: mode === 'best' && h.matches.length === 0 && h.section !== null,
    page: passage ? pageText(passagePages(doc, passage)) : null,
    html: piecesHtml(doc.text, { pieces }, h.matches),
    rows: h.matches.map((m) => {
      const pc = pieces.find((x) => m.start >= x.start && m.start < x.end) ?? { start: h.start, end: h.end };
      return { ...kwic(doc.text.slice(pc.start, pc.end), pc.start, m), via: m.via };
    }),
  };
}

/** Links from a search to the concordance, collocates and dispersion plot of the same query. */
function analysisLinks(s: SearchState) {
  const u = new URLSearchParams({ q: s.q });
  if (s.lang) u.set('lang', s.lang);
  if (s.doc) u.set('doc', s.doc);
  if (!s.expand) u.set('expand', '0');
  const qs = u.toString();
  return { concordanceUrl: `/concordance?${qs}`, collocatesUrl: `/collocates?${qs}`, dispersionUrl: `/dispersion?${qs}` };
}

/** The paper list (the search form's paper choice and the documents page). */
export function documentsView(engine: PaperCatalog) {
  return engine.documents().map((d) => ({ ...documentSummary(engine, d.id), url: `/documents/${encodeURIComponent(d.id)}` }));
}

/**
 * The search page's view model for a request: the form's state, and the
 * page of results when a query was typed.
 * @throws UserInputError for a query, paper or paging the search rejects
 */
export async function searchPage(
  engine: PaperCatalog,
  search: SearchBackend,
  req: Request,
  annotations?: { store: AnnotationBackend; viewer: string },
) {
  const query = formQuery(req.query as Query);
  const p = searchParams(query);
  const view = viewParam(query);
  const state: SearchState = { q: p.q, lang: p.lang ?? '', doc: p.docs[0] ?? '', expand: p.expand, limit: p.limit, offset: p.offset, view };
  if (p.group) state.group = p.group;
  if (state.doc) engine.requireDocument(state.doc);
  const documents = documentsView(engine);
  const base = { state, documents, active: 'search', htmlLang: 'en' };
  if (p.q.trim() === '') return { ...base, title: 'duikou', result: null };

  // With annotations, `tag:` and `note:` restrict the hits to the viewer's annotated passages, as in the API.
  const result: SearchResult = annotations
    ? await searchWithAnnotations(search, annotations.store, p.q, p, annotations.viewer)
    : await search.search(p.q, parseQuery(p.q), p);
  const hits = result.hits.map((h) => hitView(engine, h, p.q, result.mode));
  const perDocument = Object.entries(result.perDocument)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([id, count]) => ({
      id,
      title: engine.title(id),
      count,
      url: searchUrl({ ...state, doc: id, offset: 0 }),
      current: state.doc === id,
    }));
  const groups = result.groups?.map((g) => ({
    ...g,
    hits: g.hits.map((h) => hitView(engine, h, p.q, result.mode)),
    // "N more in this paper": the same search, in that paper only.
    moreUrl: g.more > 0 ? searchUrl({ ...state, doc: g.docId, offset: 0, group: undefined }) : null,
  }));
  // Grouped, the page counts papers; otherwise passages.
  const shown = groups ? groups.length : hits.length;
  const count = groups ? Object.keys(result.perDocument).length : result.total;
  const from = count === 0 ? 0 : p.offset + 1;
  const to = p.offset + shown;
  return {
    ...base,
    title: `${p.q} · duikou`,
    result: {
      total: result.total,
      // 'gte': more passages match than were counted exactly (the top-k engine's cap): "at least N".
      totalRelation: result.totalRelation,
      from,
      to,
      hits,
      perDocument,
      allDocsUrl: state.doc ? searchUrl({ ...state, doc: '', offset: 0 }) : null,
      prevUrl: p.offset > 0 ? searchUrl({ ...state, offset: Math.max(0, p.offset - p.limit) }) : null,
      nextUrl: to < count ? searchUrl({ ...state, offset: p.offset + p.limit }) : null,
      count,
      groups: groups ?? null,
      // Below a short strict result (search-contract.ts nearWanted): passages holding part of the query.
      near: result.near?.map((h) => hitView(engine, h, p.q, 'best', true)) ?? null,
      // Said in the interface language: which best-match case this is (search-contract.ts bestMatchNotice words it bilingually for the API).
      notice:
        result.mode !== 'best'
          ? null
          : result.strictTotal === 0
            ? { key: 'best.none', n: 0 }
            : result.strictTotal < BEST_MATCH_BELOW
              ? { key: 'best.few', n: result.strictTotal }
              : { key: 'best.ranked', n: result.strictTotal },
      groupUrl: searchUrl({ ...state, group: 'paper', offset: 0 }),
      ungroupUrl: searchUrl({ ...state, group: undefined, offset: 0 }),
      listUrl: searchUrl({ ...state, view: 'list' }),
      kwicUrl: searchUrl({ ...state, view: 'kwic' }),
      ...analysisLinks(state),
      matchCount: hits.reduce((n, h) => n + h.matches.length, 0),
    },
  };
}

/**
 * The search page for a query that cannot run (a stray quote, a filter behind
 * `-`, an unknown language or paper): the search box keeps what was typed,
 * with the message beside it, so the user corrects the query in place.
 */
export function searchErrorPage(engine: PaperCatalog, req: Request, err: UserInputError) {
  const q = formQuery(req.query as Query);
  const text = (k: string): string => (typeof q[k] === 'string' ? (q[k] as string) : '');
  const lang = text('lang');
  const doc = text('doc');
  const state: SearchState = {
    q: text('q'),
    lang: lang === 'zh' || lang === 'en' ? lang : '',
    doc: engine.document(doc) ? doc : '',
    expand: text('expand') !== '0',
    limit: 20,
    offset: 0,
    view: text('view') === 'kwic' ? 'kwic' : 'list',
  };
  return {
    state,
    documents: documentsView(engine),
    active: 'search',
    htmlLang: 'en',
    title: `${state.q || err.code} · duikou`,
    result: null,
    error: { code: err.code, message: err.message },
  };
}
