/**
 * PDF → canonical text, from the text layer (pdfjs-dist; no OCR).
 *
 * A PDF has glyphs at positions, not paragraphs, so the structure is rebuilt
 * from geometry, page by page:
 *
 * 1. Text items (horizontal ones only) are grouped into rows by baseline.
 * 2. Running headers and footers are dropped: rows among the two top-most or
 *    bottom-most of a page, inside its top or bottom 15%, whose text (digits
 *    ignored) recurs at about the same height on many pages; bare page numbers
 *    there go too. When nothing else would be left, nothing is dropped.
 * 3. Two columns are found by a vertical gutter near the middle of the page
 *    that almost no item crosses. Rows that cross it (a title, an abstract, a
 *    wide table) are full-width; they cut the page into bands, and each band is
 *    read left column first, then right.
 * 4. Lines become paragraphs at a vertical gap larger than the line spacing,
 *    a first-line indent, after a short line that ends a sentence, at a bullet
 *    or a numbered entry, and at a change of font size. Lines of a larger size
 *    than the body text are headings (`#`, `##`, `###` by size).
 * 5. Lines join with a space, without one where either side is CJK, and an
 *    English word hyphenated at a line end is made whole.
 *
 * Every page starts a new block, and the page map records where; a paragraph
 * cut by a page break is joined again by `segment.ts`.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserInputError } from '../../core/errors.js';
import type { PDFPageProxy } from 'pdfjs-dist/types/src/display/api.js';
import { CanonicalWriter, cleanInline, isCjkSide, joinLines } from './canonical.js';
import { DEFAULT_IMPORT_LIMITS, type ImportLimits } from './limits.js';
import type { ImportResult } from './types.js';

/** One horizontal run of text as the text layer gives it. */
interface Item {
  str: string;
  /** Left edge and baseline, in PDF points (y grows upwards). */
  x: number;
  y: number;
  /** Advance width. */
  w: number;
  /** Font size (the text matrix's vertical scale). */
  size: number;
}

/** Items on one baseline. */
interface Row {
  y: number;
  size: number;
  items: Item[];
}

/** A line of one column (or of the full width) in reading order. */
interface Line {
  text: string;
  x0: number;
  x1: number;
  y: number;
  size: number;
  /** 'L' and 'R' are the columns of a two-column band, 'F' a full-width line; `band` counts bands on the page. */
  stream: string;
}

interface PageText {
  rows: Row[];
  /** Page box: [x0, y0, x1, y1]. */
  view: number[];
}

const SUPERSCRIPT: Record<string, string> = {
  '0': '⁰',
  '1': '¹',
  '2': '²',
  '3': '³',
  '4': '⁴',
  '5': '⁵',
  '6': '⁶',
  '7': '⁷',
  '8': '⁸',
  '9': '⁹',
  '*': '*',
  ',': ',',
};

const PAGE_NUMBER =
  /^(?:[-–—·•]\s*)?(?:page\s*)?(?:\d{1,4}|[ivxlc]{1,7})(?:\s*(?:of|\/)\s*\d{1,4})?(?:\s*[-–—·•])?$|^第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?$/i;
const BULLET_START = /^[•·▪●◦○■□▶►➢✓][\s\u00a0]*/u;
const ENTRY_START =
  /^(?:\[\s*\d{1,4}\s*\]|［\s*\d{1,4}\s*］|[(（]\s*\d{1,3}\s*[)）]|\d{1,2}(?:\.\d{1,2}){0,3}\.?\s+\p{Lu}|[一二三四五六七八九十]{1,3}\s*[、．]|[（(]\s*[一二三四五六七八九十]{1,3}\s*[)）]|第[一二三四五六七八九十百\d]{1,4}[章节篇部])/u;
const SENTENCE_END = /[.。!！?？:：;；…]["'”’)）」』]*$/u;

const median = (xs: number[]): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
};

/** The size that carries the most characters (rounded to half points). */
function dominantSize(items: Array<{ size: number; n: number }>): number {
  const w = new Map<number, number>();
  for (const { size, n } of items) {
    const k = Math.round(size * 2) / 2;
    w.set(k, (w.get(k) ?? 0) + n);
  }
  let best = 0;
  let bestN = -1;
  for (const [k, n] of [...w].sort((a, b) => a[0] - b[0])) {
    if (n > bestN) {
      best = k;
      bestN = n;
    }
  }
  return best;
}

/** Smallest and largest of many numbers without spreading them onto the stack. */
function minOf(xs: number[]): number {
  let m = Number.POSITIVE_INFINITY;
  for (const x of xs) if (x < m) m = x;
  return m;
}
function maxOf(xs: number[]): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const x of xs) if (x > m) m = x;
  return m;
}

const visible = (s: string): number => s.replace(/\s+/gu, '').length;

/** Groups a page's items into rows by baseline, top to bottom. */
function rowsOf(items: Item[]): Row[] {
  const sorted = [...items].sort((a, b) => b.y - a.y || a.x - b.x);
  const rows: Row[] = [];
  for (const it of sorted) {
    const row = rows[rows.length - 1];
    if (row && Math.abs(row.items[0]!.y - it.y) <= 0.5 * Math.max(row.items[0]!.size, it.size)) row.items.push(it);
    else rows.push({ y: it.y, size: it.size, items: [it] });
  }
  for (const r of rows) {
    r.items.sort((a, b) => a.x - b.x);
    const printed = r.items.filter((i) => visible(i.str) > 0);
    const size = dominantSize(printed.map((i) => ({ size: i.size, n: visible(i.str) })));
    r.size = size || r.size;
    // The baseline of the row's main text, not of a superscript.
    const main = printed.find((i) => Math.abs(i.size - r.size) < 0.75) ?? printed[0];
    if (main) r.y = main.y;
  }
  return rows;
}

/** The text of a row's items, left to right: spaces from gaps, raised small digits as superscripts. */
function textOfItems(items: Item[], size: number, baseline: number): string {
  let out = '';
  let prevEnd = Number.NEGATIVE_INFINITY;
  for (const it of items) {
    let s = it.str;
    if (it.size < 0.85 * size && it.y > baseline + 0.2 * size && /^[\d*,]{1,4}$/.test(s.trim())) {
      s = [...s.trim()].map((c) => SUPERSCRIPT[c] ?? c).join('');
    }
    if (out !== '' && !/\s$/u.test(out) && !/^\s/u.test(s) && it.x - prevEnd > 0.2 * Math.min(size, it.size || size)) out += ' ';
    out += s;
    prevEnd = Math.max(prevEnd, it.x + it.w);
  }
  return cleanInline(out);
}

function rowText(r: Row): string {
  return textOfItems(r.items, r.size, r.y);
}

/** Comparison key of a header or footer row: no digits, no spaces, case-folded. */
const headerKey = (s: string): string => s.normalize('NFKC').replace(/\d+/g, '#').replace(/\s+/gu, '').toLowerCase();

/** Drops running headers, footers and page numbers from every page, in place. */
function dropRunning(pages: PageText[]): void {
  interface Cand {
    page: number;
    row: Row;
    key: string;
  }
  const cands: Cand[] = [];
  pages.forEach((p, page) => {
    const [, y0 = 0, , y1 = 792] = p.view;
    const h = y1 - y0;
    const n = p.rows.length;
    p.rows.forEach((row, i) => {
      const top = i < 2 && row.y >= y1 - 0.15 * h;
      const bottom = i >= n - 2 && row.y <= y0 + 0.15 * h;
      if (top || bottom) cands.push({ page, row, key: headerKey(rowText(row)) });
    });
  });
  const need = Math.max(2, Math.ceil(0.4 * pages.length));
  const drop = new Set<Row>();
  const byKey = new Map<string, Cand[]>();
  for (const c of cands) {
    if (PAGE_NUMBER.test(rowText(c.row))) drop.add(c.row);
    else if (c.key !== '') byKey.set(c.key, [...(byKey.get(c.key) ?? []), c]);
  }
  for (const group of byKey.values()) {
    if (new Set(group.map((c) => c.page)).size < need) continue;
    const y = median(group.map((c) => c.row.y));
    for (const c of group) if (Math.abs(c.row.y - y) <= 6) drop.add(c.row);
  }
  // A document whose only text is one line repeated on every page (a slide
  // deck, a form) has no running header: that line is its text.
  if (pages.every((p) => p.rows.every((r) => drop.has(r) || visible(rowText(r)) === 0))) return;
  for (const p of pages) p.rows = p.rows.filter((r) => !drop.has(r));
}

/**
 * Whether `x`, the gutter the other pages of the document have, also divides
 * this page (one with too little text to find it alone): no item crosses it,
 * the empty stretch around it is at least half the body size wide, and text
 * stands on both sides at the same heights.
 */
function gutterAt(items: Item[], x: number, bodySize: number): boolean {
  const half = bodySize / 4;
  if (items.some((i) => i.x < x + half && i.x + i.w > x - half)) return false;
  const lefts = items.filter((i) => i.x + i.w <= x);
  const rights = items.filter((i) => i.x >= x);
  if (lefts.length === 0 || rights.length === 0) return false;
  const lTop = maxOf(lefts.map((i) => i.y));
  const lBottom = minOf(lefts.map((i) => i.y));
  const rTop = maxOf(rights.map((i) => i.y));
  const rBottom = minOf(rights.map((i) => i.y));
  return Math.min(lTop, rTop) >= Math.max(lBottom, rBottom);
}

/**
 * The x of the gutter between two columns, or null for a one-column page:
 * the position in the middle 40% of the text's width that the fewest items
 * cross, when the text left and right of it is balanced, stands side by side,
 * and the empty stretch is at least half the body size wide.
 */
function findGutter(rows: Row[], bodySize: number, hint: number | null = null): number | null {
  const items = rows.flatMap((r) => r.items).filter((i) => visible(i.str) > 0);
  if (hint !== null) return gutterAt(items, hint, bodySize) ? hint : null;
  if (items.length < 6) return null;
  const left = minOf(items.map((i) => i.x));
  const right = maxOf(items.map((i) => i.x + i.w));
  const width = right - left;
  if (width <= 0) return null;
  const total = items.reduce((n, i) => n + visible(i.str), 0);
  let best: { x: number; cross: number } | null = null;
  const runs: Array<{ from: number; to: number; cross: number }> = [];
  for (let x = left + 0.3 * width; x <= left + 0.7 * width; x += 1) {
    let cross = 0;
    for (const i of items) if (i.x < x - 0.5 && i.x + i.w > x + 0.5) cross += visible(i.str);
    const last = runs[runs.length - 1];
    if (last && last.cross === cross && last.to === x - 1) last.to = x;
    else runs.push({ from: x, to: x, cross });
    if (!best || cross < best.cross) best = { x, cross };
  }
  if (!best || best.cross > 0.5 * total) return null;
  // The widest stretch with the least crossing, and its middle.
  const minimal = runs.filter((r) => r.cross === best.cross).sort((a, b) => b.to - b.from - (a.to - a.from))[0];
  if (!minimal || minimal.to - minimal.from + 1 < 0.5 * bodySize) return null;
  const g = (minimal.from + minimal.to) / 2;
  const lefts = items.filter((i) => i.x + i.w <= g);
  const rights = items.filter((i) => i.x >= g);
  const lChars = lefts.reduce((n, i) => n + visible(i.str), 0);
  const rChars = rights.reduce((n, i) => n + visible(i.str), 0);
  if (lChars < 0.15 * total || rChars < 0.15 * total) return null;
  // Side by side: enough rows hold text on both sides of the gutter.
  const lRows = new Set(lefts.map((i) => Math.round(i.y)));
  const rRows = new Set(rights.map((i) => Math.round(i.y)));
  if (lRows.size < 3 || rRows.size < 3) return null;
  const lTop = maxOf(lefts.map((i) => i.y));
  const lBottom = minOf(lefts.map((i) => i.y));
  const rTop = maxOf(rights.map((i) => i.y));
  const rBottom = minOf(rights.map((i) => i.y));
  if (Math.min(lTop, rTop) < Math.max(lBottom, rBottom)) return null;
  return g;
}

function lineOf(items: Item[], row: Row, stream: string): Line | null {
  const printed = items.filter((i) => visible(i.str) > 0);
  if (printed.length === 0) return null;
  const size = dominantSize(printed.map((i) => ({ size: i.size, n: visible(i.str) }))) || row.size;
  const text = textOfItems(items, size, row.y);
  if (!text) return null;
  return {
    text,
    x0: minOf(printed.map((i) => i.x)),
    x1: maxOf(printed.map((i) => i.x + i.w)),
    y: row.y,
    size,
    stream,
  };
}

/** A page's lines in reading order (see the module comment, step 3). */
function readingOrder(rows: Row[], bodySize: number, gutter: number | null): Line[] {
  const out: Line[] = [];
  if (gutter === null) {
    for (const r of rows) {
      const l = lineOf(r.items, r, 'F0');
      if (l) out.push(l);
    }
    return out;
  }
  let band = 0;
  let leftLines: Line[] = [];
  let rightLines: Line[] = [];
  const flush = (): void => {
    out.push(...leftLines, ...rightLines);
    leftLines = [];
    rightLines = [];
    band++;
  };
  for (const r of rows) {
    const printed = r.items.filter((i) => visible(i.str) > 0);
    const crosses = printed.some((i) => i.x < gutter - 0.5 && i.x + i.w > gutter + 0.5);
    const lefts = r.items.filter((i) => i.x + i.w / 2 < gutter);
    const rights = r.items.filter((i) => i.x + i.w / 2 >= gutter);
    const lEnd = maxOf(lefts.filter((i) => visible(i.str) > 0).map((i) => i.x + i.w));
    const rStart = minOf(rights.filter((i) => visible(i.str) > 0).map((i) => i.x));
    // A full-width line split by a word space at the gutter is still one line.
    const narrowGap = Number.isFinite(lEnd) && Number.isFinite(rStart) && rStart - lEnd < 0.6 * r.size;
    if (crosses || narrowGap) {
      flush();
      const l = lineOf(r.items, r, `F${band}`);
      if (l) out.push(l);
      continue;
    }
    const l = lineOf(lefts, r, `L${band}`);
    if (l) leftLines.push(l);
    const rl = lineOf(rights, r, `R${band}`);
    if (rl) rightLines.push(rl);
  }
  flush();
  return out;
}

interface Block {
  kind: 'p' | 'h' | 'li';
  text: string;
  size: number;
  lines: number;
}

/** A text item as pdfjs streams it. */
interface RawItem {
  str: string;
  transform: number[];
  width: number;
  height: number;
}

/**
 * The text items of one page, read from pdfjs's stream chunk by chunk, so a
 * page with millions of text operators is stopped once it passes the limit
 * instead of being held whole.
 * @throws UserInputError `import_too_large` past `maxItems`
 */
async function pageItems(page: PDFPageProxy, n: number, file: string, maxItems: number): Promise<RawItem[]> {
  const reader = page.streamTextContent({ includeMarkedContent: false }).getReader() as ReadableStreamDefaultReader<{
    items: Array<RawItem | { type: string }>;
  }>;
  const out: RawItem[] = [];
  let count = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return out;
    count += value.items.length;
    if (count > maxItems) {
      // Not reader.cancel(): pdfjs then enqueues into the closed stream and throws; destroying
      // the loading task (readPages's finally) stops the page's parsing.
      throw new UserInputError(
        'import_too_large',
        `${file}: page ${n} holds more than ${maxItems} pieces of text; duikou refuses it as a possible PDF bomb (PDF 页面内容过多，已拒绝)`,
        422,
      );
    }
    for (const raw of value.items) if ('str' in raw) out.push(raw);
  }
}

/** Reads a PDF's pages: items, rows and page boxes. */
async function readPages(bytes: Uint8Array, file: string, limits: ImportLimits): Promise<PageText[]> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const root = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
  const task = pdfjs.getDocument({
    // pdfjs takes ownership of (detaches) the buffer it is given.
    data: new Uint8Array(bytes),
    cMapUrl: `${join(root, 'cmaps')}/`,
    cMapPacked: true,
    standardFontDataUrl: `${join(root, 'standard_fonts')}/`,
    useSystemFonts: false,
    disableFontFace: true,
    isEvalSupported: false,
    useWorkerFetch: false,
    isOffscreenCanvasSupported: false,
    verbosity: 0,
  });
  try {
    let doc: Awaited<typeof task.promise>;
    try {
      doc = await task.promise;
    } catch (err) {
      const e = err as Error;
      if (e.name === 'PasswordException') {
        throw new UserInputError(
          'unreadable_file',
          `${file} is encrypted (password-protected); save a copy without the password and import that (该 PDF 已加密，无法读取)`,
        );
      }
      throw new UserInputError(
        'unreadable_file',
        `${file} is not a readable PDF (damaged?): ${e.message} (无法读取该 PDF，文件可能已损坏)`,
      );
    }
    if (doc.numPages > limits.maxPdfPages) {
      throw new UserInputError(
        'import_too_large',
        `${file} has ${doc.numPages} pages; duikou imports PDFs of up to ${limits.maxPdfPages} pages (页数过多)`,
        422,
      );
    }
    const pages: PageText[] = [];
    try {
      for (let n = 1; n <= doc.numPages; n++) {
        const page = await doc.getPage(n);
        const raws = await pageItems(page, n, file, limits.maxPageItems);
        const items: Item[] = [];
        for (const raw of raws) {
          if (raw.str === '') continue;
          const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0] = raw.transform as number[];
          // Horizontal text only: rotated margin stamps and vertical text are left out.
          if (Math.abs(b) > 0.01 * Math.abs(a) || Math.abs(c) > 0.01 * Math.abs(d) || a <= 0) continue;
          const size = Math.hypot(c, d) || raw.height;
          if (!(size > 0)) continue;
          items.push({ str: raw.str, x: e, y: f, w: raw.width, size });
        }
        pages.push({ rows: rowsOf(items), view: [...page.view] });
        page.cleanup();
      }
    } catch (err) {
      if (err instanceof UserInputError) throw err;
      throw new UserInputError(
        'unreadable_file',
        `${file}: page ${pages.length + 1} of this PDF cannot be read (damaged?): ${(err as Error).message} (无法读取该 PDF，文件可能已损坏)`,
      );
    }
    return pages;
  } finally {
    await task.destroy();
  }
}

/**
 * Turns the pages' lines into blocks and writes them (see the module comment, steps 4–5).
 */
function writePages(pages: PageText[]): ImportResult {
  const allRows = pages.flatMap((p) => p.rows);
  const bodySize = dominantSize(allRows.flatMap((r) => r.items.map((i) => ({ size: i.size, n: visible(i.str) })))) || 10;
  // Columns: found page by page; a page with too little text to show its
  // columns takes the gutter most other pages have, when nothing crosses it.
  const gutters = pages.map((p) => findGutter(p.rows, bodySize));
  const found = gutters.filter((g): g is number => g !== null);
  const common = found.length > 0 && found.length >= pages.length / 2 ? median(found) : null;
  const perPage = pages.map((p, i) =>
    readingOrder(p.rows, bodySize, gutters[i] ?? (common === null ? null : findGutter(p.rows, bodySize, common))),
  );
  const lines = perPage.flat();

  // Heading levels by size: the larger, the higher.
  const isHeadingSize = (s: number): boolean => s >= bodySize * 1.15;
  const headingSizes = [...new Set(lines.filter((l) => isHeadingSize(l.size)).map((l) => Math.round(l.size * 2) / 2))].sort(
    (a, b) => b - a,
  );
  const levelOf = (s: number): number => Math.min(3, headingSizes.indexOf(Math.round(s * 2) / 2) + 1 || 3);

  // Line spacing of the body text.
  const deltas: number[] = [];
  for (const pl of perPage)
    for (let i = 1; i < pl.length; i++) {
      const a = pl[i - 1] as Line;
      const b = pl[i] as Line;
      const dy = a.y - b.y;
      if (a.stream === b.stream && Math.abs(a.size - bodySize) < 0.5 && Math.abs(b.size - bodySize) < 0.5 && dy > 0) deltas.push(dy);
    }
  const spacing = median(deltas) || bodySize * 1.2;

  const w = new CanonicalWriter();
  pages.forEach((_, pageIndex) => {
    w.page(pageIndex + 1);
    const pl = perPage[pageIndex] ?? [];
    // Edges of each stream's body lines, for indents and short lines.
    const edges = new Map<string, { left: number; right: number }>();
    for (const l of pl) {
      if (Math.abs(l.size - bodySize) >= 0.5) continue;
      const key = l.stream.charAt(0) === 'F' ? 'F' : l.stream;
      const e = edges.get(key);
      edges.set(key, e ? { left: Math.min(e.left, l.x0), right: Math.max(e.right, l.x1) } : { left: l.x0, right: l.x1 });
    }
    const edgeOf = (l: Line): { left: number; right: number } =>
      edges.get(l.stream.charAt(0) === 'F' ? 'F' : l.stream) ?? { left: l.x0, right: l.x1 };

    let block: Block | null = null;
    let prev: Line | null = null;
    const emit = (): void => {
      if (!block) return;
      if (block.kind === 'h' && block.text.length <= 200) w.heading(levelOf(block.size), block.text);
      else if (block.kind === 'li') w.listItem(block.text);
      else {
        w.endGroup();
        w.paragraph(block.text);
      }
      block = null;
    };
    for (const l of pl) {
      const heading = isHeadingSize(l.size);
      const bullet = BULLET_START.exec(l.text);
      const text = bullet ? l.text.slice(bullet[0].length) : l.text;
      const edge = edgeOf(l);
      let fresh = block === null || prev === null;
      if (!fresh && prev && block) {
        const b: Block = block;
        const pe = edgeOf(prev);
        const indented = l.x0 - edge.left > 0.8 * l.size && l.x0 - edge.left < 0.4 * (edge.right - edge.left);
        const prevIndented = prev.x0 - pe.left > 0.8 * prev.size;
        const prevShort = prev.x1 < pe.right - 2.5 * prev.size;
        const prevNarrow = prev.x1 - pe.left < 0.6 * (pe.right - pe.left);
        if (heading !== (b.kind === 'h') || Math.abs(l.size - b.size) >= 0.5) fresh = true;
        else if (bullet || ENTRY_START.test(l.text)) fresh = true;
        else if (heading) fresh = prev.y - l.y > 2 * spacing * (l.size / bodySize) || prev.stream !== l.stream;
        else if (prev.stream !== l.stream) {
          // A column break: the paragraph runs on unless the new column starts one.
          fresh = indented || (SENTENCE_END.test(prev.text) && prevShort);
        } else {
          const dy = prev.y - l.y;
          fresh =
            dy > 1.4 * spacing * (l.size / bodySize) ||
            dy < 0 ||
            (indented && !prevIndented) ||
            (prevShort && (SENTENCE_END.test(prev.text) || prevNarrow));
        }
      }
      if (fresh) {
        emit();
        block = { kind: heading ? 'h' : bullet ? 'li' : 'p', text, size: l.size, lines: 1 };
      } else if (block) {
        const b: Block = block;
        b.text = joinLines(b.text, text);
        b.lines++;
      }
      prev = l;
    }
    emit();
  });
  return w.finish();
}

/** The `.pdf` importer. */
export async function importPdf(bytes: Uint8Array, file: string, limits: ImportLimits = DEFAULT_IMPORT_LIMITS): Promise<ImportResult> {
  const pages = await readPages(bytes, file, limits);
  dropRunning(pages);
  const result = writePages(pages);
  const letters = [...result.text].filter((ch) => /[\p{L}\p{N}]/u.test(ch) || isCjkSide(ch)).length;
  if (letters < 10) {
    throw new UserInputError(
      'no_text_layer',
      `${file} has no text layer (scanned?); duikou does not do OCR — run OCR first (e.g. ocrmypdf) and import the result (该 PDF 无文字层，可能是扫描件；duikou 不做文字识别)`,
    );
  }
  return result;
}
