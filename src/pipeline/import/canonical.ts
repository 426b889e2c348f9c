/**
 * Writing canonical text: the layout conventions `segment.ts` reads, built
 * block by block by the HTML, DOCX and PDF importers.
 *
 * Blocks are separated by one blank line; a heading is one `#` line, a list is
 * a run of `- ` lines, a table a run of `| … |` lines, a paragraph one line.
 * Whitespace inside a block is collapsed to single spaces, and whitespace
 * between two CJK characters (which a line break or a PDF's glyph placement
 * puts there, never the author) is removed.
 */
import { CJK } from '../lang.js';
import type { PageMap } from './types.js';

/** CJK ideographs and CJK or full-width punctuation: text written without spaces. */
const CJK_SIDE = /[\p{Unified_Ideograph}\u{F900}-\u{FAFF}\u{2F800}-\u{2FA1F}\u3000-\u303f\uff00-\uffef]/u;

/** True when `ch` (one code point) is CJK text or CJK punctuation, which is written without spaces. */
export function isCjkSide(ch: string): boolean {
  return CJK_SIDE.test(ch) || CJK.test(ch);
}

const CJK_GAP =
  /([\p{Unified_Ideograph}\u{F900}-\u{FAFF}\u{2F800}-\u{2FA1F}\u3000-\u303f\uff00-\uffef])[\s\u00a0]+(?=[\p{Unified_Ideograph}\u{F900}-\u{FAFF}\u{2F800}-\u{2FA1F}\u3000-\u303f\uff00-\uffef])/gu;

/** A space between CJK and a curly quote that opens or closes Chinese text: `称为 “一省` → `称为“一省`. */
const QUOTE_GAP =
  /(?<=[\p{Unified_Ideograph}\u3000-\u303f\uff00-\uffef])[ ](?=[“‘”’])|(?<=[“‘”’])[ ](?=[\p{Unified_Ideograph}\u3000-\u303f\uff00-\uffef])/gu;

/**
 * One line of block text: whitespace runs collapsed to a space, trimmed, and
 * spaces between two CJK characters (or CJK punctuation) removed.
 */
export function cleanInline(s: string): string {
  return s
    .replace(/[\s\u00a0\u200b\ufeff]+/gu, ' ')
    .trim()
    .replace(CJK_GAP, '$1')
    .replace(QUOTE_GAP, '');
}

function lastCodePoint(s: string): string {
  const cp = s.codePointAt(s.length - 1);
  if (cp !== undefined && cp >= 0xdc00 && cp <= 0xdfff && s.length >= 2) return s.slice(-2);
  return s.slice(-1);
}

/**
 * Joins two lines of one paragraph: an English word hyphenated at the line end
 * is made whole (`devel-` + `opment` → `development`, only when the next line
 * starts lowercase), CJK on either side joins without a space, anything else
 * with one space.
 */
export function joinLines(a: string, b: string): string {
  if (a === '') return b;
  if (b === '') return a;
  const last = lastCodePoint(a);
  const first = String.fromCodePoint(b.codePointAt(0) ?? 32);
  if ((last === '-' || last === '\u00ad') && /\p{Ll}$/u.test(a.slice(0, -1)) && /^\p{Ll}/u.test(first)) return a.slice(0, -1) + b;
  if (last === '\u00ad') return a.slice(0, -1) + b;
  if (isCjkSide(last) || isCjkSide(first)) return a + b;
  return `${a} ${b}`;
}

/** Builds canonical text block by block and records where pages start. */
export class CanonicalWriter {
  private readonly parts: string[] = [];
  private length = 0;
  private readonly pageStarts: PageMap = [];
  /** Kind of the last block, so lists and tables stay one block of lines. */
  private last: 'list' | 'table' | 'other' | null = null;

  private open(kind: 'list' | 'table' | 'other'): void {
    if (this.last === null) {
      this.last = kind;
      return;
    }
    const sep = kind !== 'other' && kind === this.last ? '\n' : '\n\n';
    this.parts.push(sep);
    this.length += sep.length;
    this.last = kind;
  }

  private put(s: string): void {
    this.parts.push(s);
    this.length += s.length;
  }

  /** Where the next block will start. */
  get offset(): number {
    return this.last === null ? 0 : this.length + 2;
  }

  /** Records that page `n` starts with the next block written. */
  page(n: number): void {
    this.endGroup();
    this.pageStarts.push([this.offset, n]);
  }

  /** A heading of level 1–6; empty text writes nothing. */
  heading(level: number, text: string): void {
    const t = cleanInline(text);
    if (!t) return;
    this.open('other');
    this.put(`${'#'.repeat(Math.min(6, Math.max(1, level)))} ${t}`);
  }

  /** A paragraph; empty text writes nothing. */
  paragraph(text: string): void {
    const t = cleanInline(text);
    if (!t) return;
    this.open('other');
    this.put(t);
  }

  /** Lines kept as they are (preformatted text), blank lines dropped, each trimmed at the end. */
  preformatted(text: string): void {
    const lines = text
      .replace(/\r\n?/g, '\n')
      .split('\n')
      .map((l) => l.replace(/\s+$/u, ''))
      .filter((l) => l.trim() !== '');
    if (lines.length === 0) return;
    this.open('other');
    this.put(lines.join('\n'));
  }

  /** A list item, consecutive items forming one block; `depth` indents nested lists. */
  listItem(text: string, depth = 0): void {
    const t = cleanInline(text);
    if (!t) return;
    this.open('list');
    this.put(`${'  '.repeat(Math.max(0, depth))}- ${t}`);
  }

  /** A table row, consecutive rows forming one block; a row of empty cells writes nothing. */
  tableRow(cells: string[]): void {
    const cs = cells.map((c) => cleanInline(c).replace(/\|/g, '\\|'));
    if (cs.every((c) => c === '')) return;
    this.open('table');
    this.put(`| ${cs.join(' | ')} |`);
  }

  /** Ends a list or table so that the next one starts a new block. */
  endGroup(): void {
    if (this.last === 'list' || this.last === 'table') this.last = 'other';
  }

  /** The canonical text (ending in one LF unless empty) and the page map. */
  finish(): { text: string; pages: PageMap } {
    const body = this.parts.join('');
    const text = body === '' ? '' : `${body}\n`;
    const pages = this.pageStarts.map(([o, n]): [number, number] => [Math.min(o, Math.max(0, body.length)), n]);
    return { text, pages };
  }
}

/**
 * The page of a canonical offset: the last page starting at or before it
 * (binary search); null without a page map or before its first page.
 */
export function pageAt(pages: PageMap | undefined, offset: number): number | null {
  if (!pages || pages.length === 0) return null;
  let lo = 0;
  let hi = pages.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const start = (pages[mid] as [number, number])[0];
    if (start <= offset) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found < 0 ? null : (pages[found] as [number, number])[1];
}
