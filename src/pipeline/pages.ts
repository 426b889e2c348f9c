/**
 * Pages of a document: which page an offset, a passage or a quote stands on,
 * so that a quote can be cited with its page.
 *
 * Two sources, nothing guessed:
 * - a PDF's page map, recorded by the importer (`LoadedDocument.pages`);
 * - form feeds (`\f`, U+000C) in a text paper: the text exported from a PDF by
 *   `pdftotext` and similar tools separates pages with them. Page 1 starts at
 *   offset 0 and page n + 1 right after the n-th form feed.
 *
 * A paper with neither has no pages, and everything here answers null.
 */
import type { LoadedDocument, PageRange, Span } from '../core/types.js';

/** `[offset, page]` pairs sorted by offset, pages from 1 (see `LoadedDocument.pages`). */
export type PageMap = ReadonlyArray<readonly [number, number]>;

/** The page starts of a text that marks pages with form feeds, or undefined when it has none. */
export function formFeedPages(text: string): PageMap | undefined {
  let i = text.indexOf('\f');
  if (i < 0) return undefined;
  const pages: Array<[number, number]> = [[0, 1]];
  while (i >= 0) {
    pages.push([i + 1, pages.length + 1]);
    i = text.indexOf('\f', i + 1);
  }
  return pages;
}

/** Form-feed maps by text, so a text is scanned once however often its pages are asked for. */
const formFeedCache = new WeakMap<object, PageMap | null>();

/**
 * A document's page map: the importer's (PDF), else the one its form feeds
 * make, else undefined (no page information).
 */
export function pageMapOf(doc: Pick<LoadedDocument, 'text' | 'pages'>): PageMap | undefined {
  if (doc.pages && doc.pages.length > 0) return doc.pages;
  let map = formFeedCache.get(doc);
  if (map === undefined) {
    map = formFeedPages(doc.text) ?? null;
    formFeedCache.set(doc, map);
  }
  return map ?? undefined;
}

/**
 * The page of an offset: the last page starting at or before it (binary
 * search); null without a map or before its first page.
 */
export function pageOfOffset(map: PageMap | undefined, offset: number): number | null {
  if (!map || map.length === 0) return null;
  let lo = 0;
  let hi = map.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (map[mid]![0] <= offset) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found < 0 ? null : map[found]![1];
}

/**
 * The pages `[start, end)` stands on: the page of its first and of its last
 * character. Null without page information or for an empty range.
 */
export function pageRange(map: PageMap | undefined, start: number, end: number): PageRange | null {
  if (end <= start) return null;
  const first = pageOfOffset(map, start);
  const last = pageOfOffset(map, end - 1);
  if (first === null || last === null) return null;
  return { first, last: Math.max(first, last) };
}

/** The pages of a document range, from the document itself (see {@link pageMapOf}). */
export function pagesOf(doc: Pick<LoadedDocument, 'text' | 'pages'>, span: Span): PageRange | null {
  return pageRange(pageMapOf(doc), span.start, span.end);
}

/**
 * The pages a passage stands on: from its first piece's start to its last
 * piece's end, so a footnote sitting in a page break does not count.
 */
export function passagePages(doc: Pick<LoadedDocument, 'text' | 'pages'>, p: { pieces: readonly Span[] } & Span): PageRange | null {
  const first = p.pieces[0] ?? p;
  const last = p.pieces[p.pieces.length - 1] ?? p;
  return pageRange(pageMapOf(doc), first.start, last.end);
}

/**
 * Page starts strictly inside `[start, end)`, in order: where the reader puts
 * a page marker (a page starting at a passage's very start is marked before it).
 */
export function pageStartsIn(map: PageMap | undefined, start: number, end: number): Array<readonly [number, number]> {
  if (!map) return [];
  return map.filter(([o]) => o >= start && o < end);
}

/** A page range as a label without a prefix: `12`, `12–13`. */
export function pageLabel(r: PageRange, dash = '–'): string {
  return r.first === r.last ? String(r.first) : `${r.first}${dash}${r.last}`;
}
