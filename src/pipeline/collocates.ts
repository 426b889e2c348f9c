/**
 * Collocates: the words that stand near a query's matches more often than
 * chance, scored by log-likelihood (Dunning's G²) and mutual information,
 * as AntConc and #LancsBox report them.
 *
 * Words are the analyzer's whole tokens (jieba words, case-folded stemmed
 * English words, numbers), so Chinese and English are counted alike; the
 * window counts tokens, not characters. Sub-words the index adds inside long
 * Chinese words are not counted as words of their own in a window.
 *
 * The 2×2 table of a collocate c: O11 = c's occurrences in the windows,
 * R1 = all tokens in the windows, C1 = c's frequency in the corpus,
 * N = all tokens in the corpus; E11 = R1·C1/N. G² = 2 Σ O ln(O/E) over the
 * four cells; MI = log2(O11/E11). Only collocates that occur more often than
 * expected (O11 > E11) are kept.
 */
import { eng, zho } from 'stopword';
import type { MatchSpan, Span } from '../core/types.js';
import type { AnalyzedToken } from './analyze.js';
import type { MatchedPassage } from './concordance.js';

/** What counting the words in the windows reads: the matches' texts and tokens. */
export interface WindowSource {
  documentText(docId: string): string;
  tokens(passageId: number): AnalyzedToken[];
}

/** What collocation counting reads from the corpus. */
export interface CollocateSource extends WindowSource {
  /** How often a term occurs in the whole corpus. */
  corpusFrequency(term: string): number;
  /** How many tokens (word positions) the corpus has. */
  corpusSize(): number;
}

/** Options of {@link collocates}. */
export interface CollocateOptions {
  /** Tokens each side of a match (default 5). */
  window?: number;
  /** Fewest co-occurrences a collocate needs (default 3). */
  minFrequency?: number;
  /** Leave out stop words (default true). */
  skipStopWords?: boolean;
}

/** A word near the query, with its counts and scores. */
export interface Collocate {
  /** The analysed term (stemmed for English). */
  term: string;
  /** Its most frequent form in the windows (lower-cased for Latin script). */
  word: string;
  /** Occurrences in the windows (O11). */
  frequency: number;
  /** Occurrences left / right of the match. */
  left: number;
  right: number;
  /** Frequency in the whole corpus (C1). */
  corpusFrequency: number;
  /** Log-likelihood (G²), rounded to 2 decimals. */
  logLikelihood: number;
  /** Mutual information (log2 O/E), rounded to 2 decimals. */
  mi: number;
}

/** The result: the collocates, best first, and the figures they were computed from. */
export interface CollocateResult {
  window: number;
  minFrequency: number;
  /** Matches looked at. */
  occurrences: number;
  /** Tokens in all windows (R1). */
  windowTokens: number;
  /** Tokens in the corpus (N). */
  corpusTokens: number;
  collocates: Collocate[];
}

const STOP = new Set<string>([...eng, ...zho].map((w) => w.toLowerCase()));
/** Whether a word is a stop word (English or Chinese list of the `stopword` package), or a lone letter or digit. */
export function isStopWord(word: string): boolean {
  const w = word.toLowerCase();
  return STOP.has(w) || (/^[\p{L}\p{N}]$/u.test(w) && !/\p{Script=Han}/u.test(w));
}

const xlnx = (o: number, e: number): number => (o > 0 && e > 0 ? o * Math.log(o / e) : 0);

/** Dunning's log-likelihood G² of a 2×2 table given by O11, R1, C1, N. */
export function logLikelihood(o11: number, r1: number, c1: number, n: number): number {
  const o12 = r1 - o11;
  const o21 = c1 - o11;
  const o22 = n - r1 - o21;
  const r2 = n - r1;
  const c2 = n - c1;
  const e = (r: number, c: number) => (r * c) / n;
  return 2 * (xlnx(o11, e(r1, c1)) + xlnx(o12, e(r1, c2)) + xlnx(o21, e(r2, c1)) + xlnx(o22, e(r2, c2)));
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const overlaps = (a: Span, b: Span): boolean => a.start < b.end && b.start < a.end;

/** The words in the windows around a query's matches, before the corpus is consulted. */
export interface WindowCounts {
  window: number;
  minFrequency: number;
  occurrences: number;
  windowTokens: number;
  counts: Map<string, { n: number; left: number; right: number; forms: Map<string, number> }>;
}

/**
 * The collocates of a query's matches.
 * @param matched - matching passages with their matches
 */
export function collocates(src: CollocateSource, matched: readonly MatchedPassage[], opts: CollocateOptions = {}): CollocateResult {
  return scoreCollocates(countWindows(src, matched, opts), { frequency: (t) => src.corpusFrequency(t), size: src.corpusSize() });
}

/**
 * Count the words around each match (the first half of {@link collocates}),
 * so a backend can be asked for the corpus counts of {@link collocateTerms} in one go.
 */
export function countWindows(src: WindowSource, matched: readonly MatchedPassage[], opts: CollocateOptions = {}): WindowCounts {
  const window = Math.max(1, Math.floor(opts.window ?? 5));
  const minFrequency = Math.max(1, Math.floor(opts.minFrequency ?? 3));
  const skip = opts.skipStopWords ?? true;
  const counts: WindowCounts['counts'] = new Map();
  let windowTokens = 0;
  let occurrences = 0;

  for (const { passage, matches } of matched) {
    const text = src.documentText(passage.docId);
    const toks = src.tokens(passage.id).filter((t) => !t.sub);
    for (const m of matches as MatchSpan[]) {
      occurrences++;
      const inside = toks.filter((t) => overlaps(t, m));
      // The match's first and last word positions; without whole tokens in it
      // (a match inside a word), the positions of the tokens around it.
      const first = inside[0]?.position ?? (toks.find((t) => t.start >= m.end)?.position ?? 0) - 0.5;
      const last = inside[inside.length - 1]?.position ?? first;
      for (const t of toks) {
        if (overlaps(t, m)) continue;
        const side = t.end <= m.start ? 'left' : 'right';
        const dist = side === 'left' ? first - t.position : t.position - last;
        if (dist <= 0 || dist > window) continue;
        windowTokens++;
        const surface = text.slice(t.start, t.end);
        const form = t.script === 'han' ? surface : surface.toLowerCase();
        if (skip && isStopWord(form)) continue;
        let c = counts.get(t.term);
        if (!c) {
          c = { n: 0, left: 0, right: 0, forms: new Map() };
          counts.set(t.term, c);
        }
        c.n++;
        c[side]++;
        c.forms.set(form, (c.forms.get(form) ?? 0) + 1);
      }
    }
  }
  return { window, minFrequency, occurrences, windowTokens, counts };
}

/** The terms whose corpus frequency {@link scoreCollocates} will read: those seen often enough in the windows. */
export function collocateTerms(w: WindowCounts): string[] {
  return [...w.counts].filter(([, c]) => c.n >= w.minFrequency).map(([t]) => t);
}

/**
 * Score the counted words against the corpus (the second half of {@link collocates}).
 * @param corpus - each term's corpus frequency, and the corpus size in tokens
 */
export function scoreCollocates(w: WindowCounts, corpus: { frequency(term: string): number; size: number }): CollocateResult {
  const { window, minFrequency, occurrences, windowTokens, counts } = w;
  const n = Math.max(1, corpus.size);
  const out: Collocate[] = [];
  for (const [term, c] of counts) {
    if (c.n < minFrequency) continue;
    // The corpus count can be below the window count only if the index and
    // the tokens disagree; never let that make the table impossible.
    const c1 = Math.max(c.n, corpus.frequency(term));
    const e11 = (windowTokens * c1) / n;
    if (c.n <= e11) continue;
    const word = [...c.forms].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
    out.push({
      term,
      word,
      frequency: c.n,
      left: c.left,
      right: c.right,
      corpusFrequency: c1,
      logLikelihood: round2(logLikelihood(c.n, windowTokens, c1, n)),
      mi: round2(Math.log2(c.n / e11)),
    });
  }
  out.sort((a, b) => b.logLikelihood - a.logLikelihood || b.frequency - a.frequency || (a.term < b.term ? -1 : 1));
  return { window, minFrequency, occurrences, windowTokens, corpusTokens: n, collocates: out };
}
