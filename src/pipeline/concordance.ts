/**
 * Concordance: every occurrence of a query's matches as a keyword-in-context
 * line, sortable the way a corpus linguist sorts (by the words to the left or
 * right, by paper, by position in the paper).
 *
 * The occurrences are the engine's own verified matches (`allMatchesParsed`),
 * so the concordance finds exactly what search marks. Context is cut from
 * the passage piece the keyword stands in, and each line keeps the document
 * ranges of its left context, keyword and right context, so the page can
 * show them as exact document text that a selection can be coded from.
 *
 * Words for sorting are the analyzer's tokens around the keyword (their
 * surface forms). Chinese words sort by pinyin (pinyin.ts, tone numbers:
 * `dui4kou3`), then by character; Latin words alphabetically, case-folded;
 * both in one Latin-letter order, as a bilingual index would.
 */
import type { Lang, MatchSpan, Passage, Span } from '../core/types.js';
import type { AnalyzedToken } from './analyze.js';
import { compareWords, wordSortKey } from './pinyin.js';

/** The orders a concordance can be sorted in. */
export const CONCORDANCE_SORTS = ['doc', 'left', 'right', 'position'] as const;
export type ConcordanceSort = (typeof CONCORDANCE_SORTS)[number];

/** What the concordance reads from the corpus. */
export interface ConcordanceSource {
  /** A document's canonical text ('' when unknown). */
  documentText(docId: string): string;
  /** A passage's analysed tokens (index mode), document offsets. */
  tokens(passageId: number): AnalyzedToken[];
}

/** A matching passage and its matched ranges (the engine's `PassageMatches`). */
export interface MatchedPassage {
  passage: Passage;
  matches: MatchSpan[];
}

/** One concordance line. All offsets are document offsets (UTF-16 code units). */
export interface ConcordanceLine extends Span {
  docId: string;
  passageId: number;
  lang: Lang;
  section: string | null;
  /** Glossary term the match came through, for a cross-lingual match. */
  via?: string;
  /** The occurrence's number in its paper, from 1, in text order (the reader's `m-<n>`). */
  n: number;
  /** Where it stands in its paper, 0 (start) to 1 (end). */
  position: number;
  /** Document range of the left context: `[leftStart, start)`. */
  leftStart: number;
  /** Document range of the right context: `[end, rightEnd)`. */
  rightEnd: number;
  /** Whether context was cut off before `leftStart` / after `rightEnd` (within the passage). */
  leftCut: boolean;
  rightCut: boolean;
  /** The contexts and keyword as one-line text (line breaks shown as spaces). */
  left: string;
  keyword: string;
  right: string;
}

/** Options of {@link concordance}. */
export interface ConcordanceOptions {
  sort?: ConcordanceSort;
  /** Context on each side, in code points (default 40). */
  width?: number;
  /** Paper order for `sort: 'doc'` (ids; papers not listed come last, by id). */
  paperOrder?: readonly string[];
}

/** How far (in code points) a cut may move to land between words in Latin text. */
const WORD_SLACK = 12;
/** How many words either side the left/right sorts compare. */
const SORT_WORDS = 5;

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;
const wordish = (ch: string | undefined): boolean => ch !== undefined && /[\p{L}\p{N}]/u.test(ch) && !/\p{Script=Han}/u.test(ch);

/** Index `width` code points before `from`, not before `floor`, moved forward to a word start in Latin text. */
function backBy(text: string, from: number, width: number, floor: number): number {
  let i = from;
  for (let k = 0; k < width && i > floor; k++) {
    i--;
    if (i > floor && isLow(text.charCodeAt(i)) && isHigh(text.charCodeAt(i - 1))) i--;
  }
  if (i > floor && wordish(text[i - 1]) && wordish(text[i])) {
    for (let k = i; k < Math.min(from, i + WORD_SLACK); k++) {
      if (!wordish(text[k])) return k;
    }
  }
  return i;
}

/** Index `width` code points after `from`, not past `ceil`, moved back to a word end in Latin text. */
function forwardBy(text: string, from: number, width: number, ceil: number): number {
  let i = from;
  for (let k = 0; k < width && i < ceil; k++) {
    i++;
    if (i < ceil && isLow(text.charCodeAt(i)) && isHigh(text.charCodeAt(i - 1))) i++;
  }
  if (i < ceil && wordish(text[i - 1]) && wordish(text[i])) {
    for (let k = i; k > Math.max(from, i - WORD_SLACK); k--) {
      if (!wordish(text[k - 1])) return k;
    }
  }
  return i;
}

/** Line breaks and the whitespace around them become one space: a concordance line is one line. */
export function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ');
}

export { compareWords, wordSortKey };

/**
 * One string that sorts a word sequence as comparing it word by word with
 * {@link compareWords} would, a shorter sequence (less context) first: each
 * word as its sort key, U+0001, the word, and U+0000 between words. Sorting
 * thousands of lines then compares plain strings.
 */
export function sequenceSortKey(words: readonly string[]): string {
  return words.map((w) => `${wordSortKey(w)}\u0001${w}`).join('\u0000');
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The words (surface forms of whole tokens) left of the keyword, nearest first, and right of it. */
export function contextWords(
  text: string,
  toks: readonly AnalyzedToken[],
  span: Span,
  n = SORT_WORDS,
): { left: string[]; right: string[] } {
  const whole = toks.filter((t) => !t.sub);
  const left: string[] = [];
  const right: string[] = [];
  for (let i = whole.length - 1; i >= 0 && left.length < n; i--) {
    const t = whole[i]!;
    if (t.end <= span.start) left.push(text.slice(t.start, t.end));
  }
  for (const t of whole) {
    if (right.length >= n) break;
    if (t.start >= span.end) right.push(text.slice(t.start, t.end));
  }
  return { left, right };
}

/**
 * Every occurrence as a concordance line, sorted.
 * @param src - the corpus
 * @param matched - matching passages with their matches (any order)
 */
export function concordance(src: ConcordanceSource, matched: readonly MatchedPassage[], opts: ConcordanceOptions = {}): ConcordanceLine[] {
  const width = Math.max(0, Math.floor(opts.width ?? 40));
  const sort = opts.sort ?? 'doc';
  const lines: ConcordanceLine[] = [];
  /** Each line's sort key for `left` / `right` (see {@link sequenceSortKey}). */
  const keys = new Map<ConcordanceLine, string>();
  const byDoc = new Map<string, MatchedPassage[]>();
  for (const m of matched) {
    const list = byDoc.get(m.passage.docId);
    if (list) list.push(m);
    else byDoc.set(m.passage.docId, [m]);
  }

  for (const [docId, list] of byDoc) {
    const text = src.documentText(docId);
    const all = list
      .flatMap((m) => m.matches.map((span) => ({ p: m.passage, span })))
      .sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end);
    all.forEach(({ p, span }, i) => {
      const piece = p.pieces.find((pc) => span.start >= pc.start && span.start < pc.end) ?? { start: p.start, end: p.end };
      const end = Math.min(span.end, piece.end);
      const leftStart = backBy(text, span.start, width, piece.start);
      const rightEnd = forwardBy(text, end, width, piece.end);
      const line: ConcordanceLine = {
        docId,
        passageId: p.id,
        lang: p.lang,
        section: p.section,
        start: span.start,
        end,
        n: i + 1,
        position: text.length === 0 ? 0 : span.start / text.length,
        leftStart,
        rightEnd,
        leftCut: leftStart > piece.start,
        rightCut: rightEnd < piece.end,
        left: oneLine(text.slice(leftStart, span.start)).trimStart(),
        keyword: oneLine(text.slice(span.start, end)),
        right: oneLine(text.slice(end, rightEnd)).trimEnd(),
      };
      if (span.via !== undefined) line.via = span.via;
      lines.push(line);
      if (sort === 'left' || sort === 'right') {
        const w = contextWords(text, src.tokens(p.id), line);
        keys.set(
          line,
          `${sequenceSortKey(sort === 'left' ? w.left : w.right)}\u0000\u0000${wordSortKey(line.keyword)}\u0001${line.keyword}`,
        );
      }
    });
  }

  const papers = new Map((opts.paperOrder ?? []).map((id, i) => [id, i]));
  const paperRank = (id: string) => papers.get(id) ?? papers.size;
  const inText = (a: ConcordanceLine, b: ConcordanceLine) =>
    paperRank(a.docId) - paperRank(b.docId) || (a.docId < b.docId ? -1 : a.docId > b.docId ? 1 : 0) || a.start - b.start;
  switch (sort) {
    case 'left':
      lines.sort((a, b) => byString(keys.get(a)!, keys.get(b)!) || inText(a, b));
      break;
    case 'right':
      lines.sort((a, b) => byString(keys.get(a)!, keys.get(b)!) || inText(a, b));
      break;
    case 'position':
      lines.sort((a, b) => a.position - b.position || inText(a, b));
      break;
    default:
      lines.sort(inText);
  }
  return lines;
}
