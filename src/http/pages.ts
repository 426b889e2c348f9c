/**
 * Server-rendered pages: search (list and KWIC views), the document reader
 * and the document list. Works without client JavaScript.
 *
 * The handlers turn engine results into plain view models. Marked passage
 * text is built here as HTML from {@link markSegments} output, every piece of
 * text and every attribute value going through {@link escapeHtml}, so that a
 * text node holds exactly the document characters of its range (templates
 * could add whitespace inside elements; this code cannot). Views print those
 * strings with `<%-`, and everything else with `<%=`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Router, type Request, type RequestHandler } from 'express';
import escapeHtmlChars from 'escape-html';
import { UserInputError } from '../core/errors.js';
import type { CorpusDocument, MatchSpan, PageRange, Passage, Span } from '../core/types.js';
import type { SearchHit, SearchResult } from '../backends/search-contract.js';
import { type Segment, kwic, markSegments } from '../pipeline/highlight.js';
import { type PageMap, pageLabel, pageMapOf, passagePages } from '../pipeline/pages.js';
import { passagesAt, pieceJoins, quoteSpans } from '../pipeline/quote.js';
import { documentSummary, searchParams } from './api.js';
import type { AppDeps } from './deps.js';
import { EmbeddedAnnotationBackend } from '../backends/embedded/annotations.js';
import { EmbeddedSearchBackend } from '../backends/embedded/search.js';
import type { AnnotationBackend, SearchBackend, PaperCatalog } from '../backends/types.js';
import { PALETTE, annotationPagesRouter, colourClass } from './annotation-pages.js';
import { flag, lang, str } from './params.js';
import { parseQuery } from '../pipeline/query.js';
import { annotationRestrictVia } from '../services/annotated-search.js';
import { viewerOf } from './accounts.js';
import type { Viewer } from '../store/users.js';
import { MAX_UPLOAD_FILES, MAX_UPLOAD_FILE_BYTES, PAPER_EXTENSIONS } from './documents-api.js';
import { tr } from './i18n.js';
import { BEST_MATCH_BELOW } from '../pipeline/rank.js';

// --- escaping helpers: the only places HTML is put together -----------------

/** Escape text for HTML content and (double- or single-quoted) attribute values: `&<>"'` (escape-html, as express does). */
export const escapeHtml: (s: string) => string = escapeHtmlChars;

type Attrs = Record<string, string | number | undefined | null | false>;

function attrs(a: Attrs): string {
  let out = '';
  for (const [k, v] of Object.entries(a)) {
    if (v === undefined || v === null || v === false) continue;
    if (!/^[a-z][a-z0-9-]*$/.test(k)) throw new Error(`bad attribute name ${k}`);
    out += ` ${k}="${escapeHtml(String(v))}"`;
  }
  return out;
}

/** An element whose content is already-escaped HTML. */
function el(tag: string, a: Attrs, innerHtml: string): string {
  return `<${tag}${attrs(a)}>${innerHtml}</${tag}>`;
}

/** Options for {@link segmentsHtml}. */
interface MarkOptions {
  /** Give the first segment of each mark an `id` so the page can link to it. */
  markId?: (m: MatchSpan) => string | undefined;
  /** Annotation ids that already have their `a-<id>` anchor (shared across a page so each id is given once). */
  anchored?: Set<string>;
  /** Draw the paper's title as an `h2` (on a page whose own `h1` is something else), not the page's `h1`. */
  titleAsH2?: boolean;
  /** The interface's words for a page marker and an untagged highlight (English by default). */
  labels?: { page: (n: number) => string; annotation: string };
}

/** A stored annotation drawn over the text as a highlight. */
export interface AnnotationMark extends Span {
  annotation: { id: string; colour: string; tags: string[] };
}

/** What a document range can be marked with: a search match or an annotation. */
export type DocMark = MatchSpan | AnnotationMark;

const isAnnotationMark = (m: DocMark): m is AnnotationMark => 'annotation' in m;

/** A search match as a `<mark>` around already-escaped HTML. */
function searchMarkHtml(s: Segment<DocMark>, search: MatchSpan[], inner: string, opts: MarkOptions): string {
  const via = [...new Set(search.map((m) => m.via).filter((v): v is string => !!v))];
  const first = opts.markId ? search.find((m) => m.start === s.start) : undefined;
  return el(
    'mark',
    {
      id: first && opts.markId ? opts.markId(first) : undefined,
      class: [via.length ? 'via' : '', search.length > 1 ? 'overlap' : ''].filter(Boolean).join(' ') || undefined,
      title: via.length ? `via ${via.join(', ')}` : undefined,
      'data-via': via.length ? via.join(', ') : undefined,
      'data-start': s.start,
      'data-end': s.end,
    },
    inner,
  );
}

/**
 * Annotations as one `<mark class="hl">` around already-escaped HTML: every
 * covering annotation's id in `data-ids` (outermost first), drawn in the
 * innermost one's colour. The first segment of each annotation carries its
 * `a-<id>` anchor (further anchors as empty spans, which add no text).
 */
function annotationMarkHtml(s: Segment<DocMark>, anns: AnnotationMark[], inner: string, opts: MarkOptions): string {
  const anchored = opts.anchored ?? new Set<string>();
  const fresh = anns.map((a) => a.annotation.id).filter((id) => !anchored.has(id));
  for (const id of fresh) anchored.add(id);
  const extra = fresh
    .slice(1)
    .map((id) => el('span', { class: 'hl-anchor', id: `a-${id}` }, ''))
    .join('');
  const top = anns[anns.length - 1]!.annotation;
  const tags = [...new Set(anns.flatMap((a) => a.annotation.tags))];
  return el(
    'mark',
    {
      id: fresh.length ? `a-${fresh[0]}` : undefined,
      class: ['hl', colourClass(top.colour), anns.length > 1 ? 'hl-overlap' : ''].filter(Boolean).join(' '),
      'data-ids': anns.map((a) => a.annotation.id).join(' '),
      'data-colour': top.colour,
      'data-start': s.start,
      'data-end': s.end,
      title: tags.length ? tags.join(', ') : (opts.labels?.annotation ?? 'Annotation'),
      tabindex: 0,
    },
    extra + inner,
  );
}

/**
 * Segments as HTML: unmarked text escaped, search matches in `<mark>` with
 * their document range (a `via` title and class for glossary matches), and
 * annotations in an enclosing `<mark class="hl">`.
 */
export function segmentsHtml(segs: Segment<DocMark>[], opts: MarkOptions = {}): string {
  let out = '';
  for (const s of segs) {
    let html = escapeHtml(s.text);
    if (!s.mark) {
      out += html;
      continue;
    }
    const search = s.marks.filter((m): m is MatchSpan => !isAnnotationMark(m));
    const anns = s.marks.filter(isAnnotationMark);
    if (search.length) html = searchMarkHtml(s, search, html, opts);
    if (anns.length) html = annotationMarkHtml(s, anns, html, opts);
    out += html;
  }
  return out;
}

/** A range of the document as a `<span data-start data-end>` holding exactly its (marked) text. */
function rangeSpan(text: string, r: Span, marks: DocMark[], cls: string, opts: MarkOptions = {}): string {
  const inner = segmentsHtml(markSegments(text.slice(r.start, r.end), r.start, marks), opts);
  return el('span', { class: cls, 'data-start': r.start, 'data-end': r.end }, inner);
}

/** A page marker: empty (its label is drawn by CSS, so it is never selected or copied with the text), in the margin. */
function pageMarkHtml(page: number, opts: MarkOptions = {}): string {
  const label = opts.labels?.page(page) ?? `Page ${page}`;
  return el('span', { class: 'page-mark', 'data-page': page, title: label, role: 'note', 'aria-label': label }, '');
}

/**
 * A passage's own text, piece by piece. What sits between pieces (a footnote
 * or running header in a page break) is left out, and the pieces join
 * seamlessly: a piece after a join between Latin words gets the class
 * `join-space` (a space drawn by CSS, outside the document text), one after
 * CJK nothing, and the hyphen of a word hyphenated at the break is a piece of
 * its own with the class `join-hyphen` (hidden by CSS). `pages` are page starts inside the passage: each gets a marker
 * where it falls, a piece it falls inside being split there.
 */
function piecesHtml(
  text: string,
  p: Pick<Passage, 'pieces'>,
  marks: DocMark[],
  opts: MarkOptions = {},
  pages: ReadonlyArray<readonly [number, number]> = [],
): string {
  const joins = pieceJoins(text, p.pieces);
  let next = 0;
  return p.pieces
    .map((pc, k) => {
      let out = '';
      let at = pc.start;
      // A word hyphenated at the break reads whole: its hyphen stays in the text (offsets), hidden by CSS.
      const hyphen = joins[k + 1] === 'hyphen' ? pc.end - 1 : pc.end;
      let cls = joins[k] === 'space' ? 'pc join-space' : 'pc';
      // Pages starting before this piece (or in the gap before it) are marked before it.
      while (next < pages.length && pages[next]![0] <= at) out += pageMarkHtml(pages[next++]![1], opts);
      while (next < pages.length && pages[next]![0] < pc.end) {
        const [o, page] = pages[next++]!;
        // A form feed that makes the page is not drawn (it would show as a box): the marker stands for it.
        const cut = o > at && text[o - 1] === '\f' ? o - 1 : o;
        if (cut > at) out += rangeSpan(text, { start: at, end: cut }, marks, cls, opts);
        out += pageMarkHtml(page, opts);
        at = o;
        cls = 'pc';
      }
      if (hyphen < pc.end && hyphen > at) {
        return (
          out +
          rangeSpan(text, { start: at, end: hyphen }, marks, cls, opts) +
          rangeSpan(text, { start: hyphen, end: pc.end }, marks, 'pc join-hyphen', opts)
        );
      }
      return out + rangeSpan(text, { start: at, end: pc.end }, marks, cls, opts);
    })
    .join('');
}

// --- tables -----------------------------------------------------------------

interface Cell extends Span {
  /** True for an empty cell (no span is rendered). */
  empty: boolean;
}

/** Lines of the passage's pieces with their document ranges (line breaks excluded). */
function linesOf(text: string, p: Pick<Passage, 'pieces'>): Span[] {
  const lines: Span[] = [];
  for (const pc of p.pieces) {
    let s = pc.start;
    while (s <= pc.end) {
      let nl = text.indexOf('\n', s);
      if (nl < 0 || nl > pc.end) nl = pc.end;
      lines.push({ start: s, end: nl });
      s = nl + 1;
    }
  }
  return lines;
}

function trimRange(text: string, r: Span, ws = /\s/): Span {
  let { start, end } = r;
  while (start < end && ws.test(text.charAt(start))) start++;
  while (end > start && ws.test(text.charAt(end - 1))) end--;
  return { start, end };
}

/** Split `[start, end)` of `text` at every `sep`. */
function splitRange(text: string, r: Span, sep: string): Span[] {
  const out: Span[] = [];
  let s = r.start;
  for (let i = r.start; i < r.end; i++) {
    if (text[i] === sep) {
      out.push({ start: s, end: i });
      s = i + 1;
    }
  }
  out.push({ start: s, end: r.end });
  return out;
}

const PIPE_RULE = /^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$/;

/**
 * Parse a table passage as `|`-delimited (Markdown-like) or tab-delimited rows.
 * Returns null unless every non-blank line has the delimiter and rows have at
 * least two columns; short rows are padded with empty cells.
 */
export function parseTable(text: string, p: Pick<Passage, 'pieces'>): { head: Cell[][]; body: Cell[][] } | null {
  const lines = linesOf(text, p)
    .map((l) => trimRange(text, l, /[ \r\u3000]/))
    .filter((l) => l.end > l.start);
  if (lines.length < 2) return null;
  const src = (l: Span) => text.slice(l.start, l.end);
  const mode = lines.every((l) => src(l).includes('|')) ? '|' : lines.every((l) => src(l).includes('\t')) ? '\t' : null;
  if (!mode) return null;
  const rows: Cell[][] = [];
  let headRows = 0;
  for (const l of lines) {
    let cells: Span[];
    if (mode === '|') {
      if (PIPE_RULE.test(src(l).trim())) {
        if (headRows === 0 && rows.length > 0) headRows = rows.length;
        continue;
      }
      const t = trimRange(text, l);
      let r = t;
      if (text[r.start] === '|') r = { start: r.start + 1, end: r.end };
      if (r.end > r.start && text[r.end - 1] === '|') r = { start: r.start, end: r.end - 1 };
      cells = splitRange(text, r, '|').map((c) => trimRange(text, c));
    } else {
      cells = splitRange(text, l, '\t').map((c) => trimRange(text, c));
      // A line whose leading tabs the segmenter trimmed off still starts with empty cells.
      let k = l.start;
      while (k > 0 && text[k - 1] === '\t') k--;
      if (k === 0 || text[k - 1] === '\n') {
        for (let i = k; i < l.start; i++) cells.unshift({ start: l.start, end: l.start });
      }
    }
    rows.push(cells.map((c) => ({ ...c, empty: c.end <= c.start })));
  }
  if (rows.length === 0) return null;
  const cols = Math.max(...rows.map((r) => r.length));
  if (cols < 2) return null;
  for (const r of rows) while (r.length < cols) r.push({ start: 0, end: 0, empty: true });
  if (mode === '\t' && rows.length > 1) headRows = 1;
  return { head: rows.slice(0, headRows), body: rows.slice(headRows) };
}

function tableHtml(text: string, t: { head: Cell[][]; body: Cell[][] }, marks: DocMark[], opts: MarkOptions): string {
  const row = (cells: Cell[], tag: 'th' | 'td') =>
    el('tr', {}, cells.map((c) => el(tag, {}, c.empty ? '' : rangeSpan(text, c, marks, 'cell', opts))).join(''));
  const head = t.head.length ? el('thead', {}, t.head.map((r) => row(r, 'th')).join('')) : '';
  return head + el('tbody', {}, t.body.map((r) => row(r, 'td')).join(''));
}

// --- document structure -----------------------------------------------------

const htmlLang = (l: string) => (l === 'zh' ? 'zh-Hans' : 'en');

/**
 * One passage as an element with `id="p-<id>"`, `data-start`, `data-end`.
 * `pages` are the page starts to mark in it (see {@link documentBodyHtml}).
 */
export function passageHtml(
  doc: CorpusDocument,
  p: Passage,
  marks: DocMark[],
  opts: MarkOptions = {},
  pages: ReadonlyArray<readonly [number, number]> = [],
): string {
  const base: Attrs = { id: `p-${p.id}`, lang: htmlLang(p.lang), 'data-start': p.start, 'data-end': p.end };
  const body = () => piecesHtml(doc.text, p, marks, opts, pages);
  switch (p.kind) {
    case 'title':
      return el(opts.titleAsH2 ? 'h2' : 'h1', { ...base, class: 'p title' }, body());
    case 'heading':
      return el((p.level ?? 1) <= 1 ? 'h2' : 'h3', { ...base, class: 'p heading' }, body());
    case 'front-matter':
      return el('p', { ...base, class: 'p front' }, body());
    case 'list-item':
    case 'reference':
      return el('li', { ...base, class: `p ${p.kind}` }, body());
    case 'footnote':
      return el('aside', { ...base, class: 'p footnote', role: 'note' }, body());
    case 'table': {
      const t = parseTable(doc.text, p);
      if (t) {
        const marksHtml = pages.map(([, n]) => pageMarkHtml(n, opts)).join('');
        return el('div', { ...base, class: 'p table' }, marksHtml + el('table', {}, tableHtml(doc.text, t, marks, opts)));
      }
      return el('pre', { ...base, class: 'p table' }, body());
    }
    default:
      return el('p', { ...base, class: 'p' }, body());
  }
}

/**
 * The document's passages in order; consecutive list items and references
 * grouped in lists. For a paper with page information (a PDF's page map, or
 * form feeds in a text), a marker in the margin shows where each page starts:
 * inside the first passage that reaches past the page's start, at the piece
 * where the page begins.
 */
export function documentBodyHtml(doc: CorpusDocument, marksByPassage: Map<number, DocMark[]>, opts: MarkOptions = {}): string {
  const out: string[] = [];
  let open: 'list-item' | 'reference' | null = null;
  const map: PageMap = pageMapOf(doc) ?? [];
  let nextPage = 0;
  for (const p of doc.passages) {
    const from = nextPage;
    while (nextPage < map.length && map[nextPage]![0] < p.end) nextPage++;
    const group = p.kind === 'list-item' || p.kind === 'reference' ? p.kind : null;
    if (group !== open) {
      if (open) out.push(open === 'reference' ? '</ol>' : '</ul>');
      if (group) out.push(group === 'reference' ? '<ol class="references">' : '<ul class="items">');
      open = group;
    }
    out.push(passageHtml(doc, p, marksByPassage.get(p.id) ?? [], opts, map.slice(from, nextPage)));
  }
  if (open) out.push(open === 'reference' ? '</ol>' : '</ul>');
  return out.join('\n');
}

// --- search page ------------------------------------------------------------

type Query = Record<string, unknown>;

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
export function passageUrl(docId: string, passageId: number, q: string): string {
  const qs = q ? `?${new URLSearchParams({ q }).toString()}` : '';
  return `/documents/${encodeURIComponent(docId)}${qs}#p-${passageId}`;
}

/** A page range as the pages show it: `p. 12`, `pp. 12–13`; null without page information. */
function pageText(r: PageRange | null): string | null {
  if (!r) return null;
  return r.first === r.last ? `p. ${r.first}` : `pp. ${pageLabel(r)}`;
}

function hitView(engine: PaperCatalog, h: SearchHit, q: string) {
  const doc = engine.requireDocument(h.docId);
  const passage = engine.passage(h.passageId);
  const pieces = passage?.pieces ?? [{ start: h.start, end: h.end }];
  const via = [...new Set(h.matches.map((m) => m.via).filter((v): v is string => !!v))];
  return {
    ...h,
    url: passageUrl(h.docId, h.passageId, q),
    htmlLang: htmlLang(h.lang),
    via,
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

function documentsView(engine: PaperCatalog) {
  return engine.documents().map((d) => ({ ...documentSummary(engine, d.id), url: `/documents/${encodeURIComponent(d.id)}` }));
}

async function searchPage(engine: PaperCatalog, search: SearchBackend, req: Request) {
  const query = formQuery(req.query as Query);
  const p = searchParams(query);
  const view = viewParam(query);
  const state: SearchState = { q: p.q, lang: p.lang ?? '', doc: p.docs[0] ?? '', expand: p.expand, limit: p.limit, offset: p.offset, view };
  if (p.group) state.group = p.group;
  if (state.doc) engine.requireDocument(state.doc);
  const documents = documentsView(engine);
  const base = { state, documents, active: 'search', htmlLang: 'en' };
  if (p.q.trim() === '') return { ...base, title: 'duikou', result: null };

  const result: SearchResult = await search.search(p.q, parseQuery(p.q), p);
  const hits = result.hits.map((h) => hitView(engine, h, p.q));
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
    hits: g.hits.map((h) => hitView(engine, h, p.q)),
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
      // Said in the interface language: which best-match case this is (engine.ts bestMatchNotice words it bilingually for the API).
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
function searchErrorPage(engine: PaperCatalog, req: Request, err: UserInputError) {
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

// --- document page ----------------------------------------------------------

/** The annotations of a document drawn as highlights, by passage: those still anchored whose quote is where they say. */
async function annotationMarks(doc: CorpusDocument, store: AnnotationBackend, viewer: Viewer): Promise<Map<number, AnnotationMark[]>> {
  const out = new Map<number, AnnotationMark[]>();
  for (const a of await store.list({ docId: doc.id, orphaned: false, viewer: viewer.name })) {
    if (doc.text.slice(a.start, a.end) !== a.exact) continue;
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

async function documentPage(
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
  let search: { q: string; total: number; concordanceUrl: string } | null = null;
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
    const found = await backend.allMatches(parsed, matchOpts);
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
    search = { q, total: all.length, concordanceUrl: `/concordance?${u.toString()}` };
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
function manageState(doc: CorpusDocument, deps: AppDeps) {
  const { store } = deps;
  return {
    file: doc.file,
    // A paper not in the library's own folder is one of the read-only sample papers: removing it hides it.
    sample: !!deps.sampleDir && !!deps.corpusDir && !existsSync(join(deps.corpusDir, doc.file)),
    annotationCount: store ? store.list({ docId: doc.id }).length : 0,
    title: doc.title,
    authors: doc.authors.join('\n'),
    year: doc.year === null ? '' : String(doc.year),
    venue: doc.venue ?? '',
    lang: doc.lang,
  };
}

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
      page = await searchPage(engine, searchBackend, req);
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
