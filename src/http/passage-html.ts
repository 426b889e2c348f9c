/**
 * Passages and whole papers as HTML, for the search results and the reader.
 * Marked passage text is built here from {@link markSegments} output, every
 * piece of text and every attribute value going through {@link escapeHtml},
 * so that a text node holds exactly the document characters of its range
 * (templates could add whitespace inside elements; this code cannot). Views
 * print those strings with `<%-`, and everything else with `<%=`.
 */
import escapeHtmlChars from 'escape-html';
import type { CorpusDocument, MatchSpan, Passage, Span } from '../core/types.js';
import { type Segment, markSegments } from '../pipeline/highlight.js';
import { type PageMap, pageMapOf } from '../pipeline/pages.js';
import { pieceJoins } from '../pipeline/quote.js';
import { colourClass } from './annotation-pages.js';

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
export interface MarkOptions {
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
export function piecesHtml(
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

/** The HTML `lang` of a paper's or passage's language. */
export const htmlLang = (l: string) => (l === 'zh' ? 'zh-Hans' : 'en');

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
