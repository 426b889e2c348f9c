/**
 * Re-anchoring annotations when a document's text changes. Pure functions, no
 * database: the store calls {@link reanchor} for every annotation whose
 * document hash moved on.
 *
 * All offsets are UTF-16 code units of the document's canonical text (see
 * `src/core/types.ts`); every range this module returns starts and ends on a
 * code point boundary.
 */
import { createHash } from 'node:crypto';
import search from 'approx-string-match';
import { distance as levenshtein } from 'fastest-levenshtein';
import type { TextQuote } from '../core/types.js';

/** UTF-16 code units of context kept on each side of a quote. */
export const CONTEXT_LENGTH = 32;

/**
 * Fuzzy matches are accepted when `errors / quote length` is at most this,
 * whatever the context says (a typo or two fixed in a sentence).
 */
export const FUZZY_ACCEPT_RATIO = 0.1;
/**
 * Fuzzy matches with an error ratio above {@link FUZZY_ACCEPT_RATIO} but at most
 * this are accepted only when the surrounding text still looks like the stored
 * prefix/suffix (average context similarity ≥ {@link FUZZY_CONTEXT_MIN}).
 * Anything worse is an orphan: better to ask the researcher than to move
 * their annotation onto text they never read.
 */
export const FUZZY_MAX_RATIO = 0.25;
/** Context similarity (0…1) a borderline fuzzy match needs; see {@link FUZZY_MAX_RATIO}. */
export const FUZZY_CONTEXT_MIN = 0.5;
/**
 * An exact occurrence whose context similarity is below this is "weak": a
 * fuzzy candidate with good context may then win over it (the sentence was
 * edited where it stood and an old copy of it survives somewhere else).
 */
export const WEAK_CONTEXT = 0.5;

/** How an annotation was (last) anchored. */
export type AnchorMethod = 'created' | 'exact' | 'quote' | 'fuzzy' | 'orphaned';
/** Whether an annotation currently points into its document's text. */
export type AnchorStatus = 'anchored' | 'orphaned';

/** What the store remembers to find an annotation again: its range and its quote with context. */
export interface Selector extends TextQuote {
  /** UTF-16 code-unit offset (inclusive) in the text the annotation was last anchored on. */
  start: number;
  /** UTF-16 code-unit offset (exclusive). */
  end: number;
}

/** Result of re-anchoring one selector on a new text. */
export interface AnchorResult {
  status: AnchorStatus;
  /** 'exact' | 'quote' | 'fuzzy' when anchored, 'orphaned' otherwise. */
  method: Exclude<AnchorMethod, 'created'>;
  /** New range (UTF-16 code units of the new text); the old range when orphaned. */
  start: number;
  end: number;
  /** `newText.slice(start, end)` when anchored; the old quote when orphaned. */
  exact: string;
}

/** SHA-256 of a text (its UTF-8 bytes), lowercase hex. */
export function textHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function isHigh(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
function isLow(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** True when offset `i` of `text` falls between the two halves of a surrogate pair. */
export function splitsSurrogatePair(text: string, i: number): boolean {
  return i > 0 && i < text.length && isHigh(text.charCodeAt(i - 1)) && isLow(text.charCodeAt(i));
}

/**
 * The quote `text.slice(start, end)` with up to {@link CONTEXT_LENGTH} code
 * units of context on each side, the context cut short rather than split a
 * surrogate pair. The caller guarantees a valid range.
 */
export function makeQuote(text: string, start: number, end: number): TextQuote {
  let pStart = Math.max(0, start - CONTEXT_LENGTH);
  if (splitsSurrogatePair(text, pStart)) pStart += 1;
  let sEnd = Math.min(text.length, end + CONTEXT_LENGTH);
  if (splitsSurrogatePair(text, sEnd)) sEnd -= 1;
  return { exact: text.slice(start, end), prefix: text.slice(pStart, start), suffix: text.slice(end, sEnd) };
}

/** How far the text around `[start, end)` is from the stored prefix/suffix. */
interface ContextFit {
  /** Edit distance of prefix + suffix (0 = both identical). */
  distance: number;
  /** Similarity 0…1, averaged over the two sides (an empty stored side counts as 1). */
  similarity: number;
}

function contextFit(text: string, start: number, end: number, prefix: string, suffix: string): ContextFit {
  const before = text.slice(Math.max(0, start - prefix.length), start);
  const after = text.slice(end, end + suffix.length);
  // Levenshtein distances in UTF-16 units (fastest-levenshtein compares char codes).
  const pd = levenshtein(prefix, before);
  const sd = levenshtein(suffix, after);
  const ps = prefix.length === 0 ? 1 : Math.max(0, 1 - pd / prefix.length);
  const ss = suffix.length === 0 ? 1 : Math.max(0, 1 - sd / suffix.length);
  return { distance: pd + sd, similarity: (ps + ss) / 2 };
}

interface Candidate {
  start: number;
  end: number;
  errors: number;
  fit: ContextFit;
}

/** Every start offset of `needle` in `haystack` (overlapping occurrences included). */
function occurrences(haystack: string, needle: string): number[] {
  const out: number[] = [];
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + 1)) out.push(i);
  return out;
}

/** Snap a fuzzy range onto code point boundaries (shrinking it) and drop it if that leaves nothing. */
function snap(text: string, start: number, end: number): [number, number] | null {
  let s = start;
  let e = end;
  if (splitsSurrogatePair(text, s)) s += 1;
  if (splitsSurrogatePair(text, e)) e -= 1;
  return s < e ? [s, e] : null;
}

/**
 * Score of a fuzzy candidate, higher is better: quote similarity dominates,
 * then context, then nearness to the old position (weights as in the
 * Hypothesis client's quote matcher).
 */
function fuzzyScore(c: Candidate, quoteLength: number, oldStart: number, textLength: number): number {
  const quoteSim = 1 - c.errors / quoteLength;
  const posSim = 1 - Math.min(1, Math.abs(c.start - oldStart) / Math.max(1, textLength));
  return 50 * quoteSim + 40 * c.fit.similarity + 2 * posSim;
}

/** Whether a fuzzy candidate is close enough to be trusted; see {@link FUZZY_ACCEPT_RATIO}. */
function acceptable(c: Candidate, quoteLength: number): boolean {
  const ratio = c.errors / quoteLength;
  if (ratio <= FUZZY_ACCEPT_RATIO) return true;
  return ratio <= FUZZY_MAX_RATIO && c.fit.similarity >= FUZZY_CONTEXT_MIN;
}

/**
 * Approximate occurrences of the quote: the best ones in the whole text, the
 * best ones in a window around the old position, and the best ones where it
 * stood (approx-string-match only reports the lowest error count it finds, so
 * a slightly better match elsewhere would otherwise hide the local one).
 */
function fuzzyCandidates(text: string, sel: Selector): Candidate[] {
  const q = sel.exact;
  const maxErrors = Math.min(q.length - 1, Math.max(2, Math.ceil(q.length * FUZZY_MAX_RATIO)));
  if (maxErrors < 1) return [];
  const seen = new Set<string>();
  const out: Candidate[] = [];
  const add = (offset: number, matches: { start: number; end: number; errors: number }[]) => {
    for (const m of matches) {
      const r = snap(text, m.start + offset, m.end + offset);
      if (!r) continue;
      const key = `${r[0]}:${r[1]}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ start: r[0], end: r[1], errors: m.errors, fit: contextFit(text, r[0], r[1], sel.prefix, sel.suffix) });
    }
  };
  add(0, search(text, q, maxErrors));
  const margin = Math.max(1024, 4 * q.length);
  const winStart = Math.max(0, sel.start - margin);
  const winEnd = Math.min(text.length, sel.end + margin);
  if (winStart > 0 || winEnd < text.length) add(winStart, search(text.slice(winStart, winEnd), q, maxErrors));
  // And where it stood, only as far as its edits and its context reach: an exact copy of the quote a sentence
  // away (the same wording about another province) would otherwise hide the quote edited in place, which only
  // the context can tell apart.
  const reach = maxErrors + CONTEXT_LENGTH;
  const nearStart = Math.max(0, sel.start - reach);
  const nearEnd = Math.min(text.length, sel.end + reach);
  if (nearStart > winStart || nearEnd < winEnd) add(nearStart, search(text.slice(nearStart, nearEnd), q, maxErrors));
  return out;
}

/**
 * Find an annotation again in a changed text. In order:
 * 1. the stored offsets still hold the quote (and its context) → 'exact';
 * 2. among all occurrences of the quote, the one whose surrounding text is
 *    closest to the stored prefix/suffix (ties: nearest the old start) →
 *    'quote' ('exact' if that is the old range) — so a copy of the sentence
 *    elsewhere does not steal the anchor;
 * 3. an approximate match (approx-string-match, up to
 *    max(2, 25 % of the quote) errors) accepted per {@link acceptable} →
 *    'fuzzy'. Also tried when step 2's best occurrence has weak context, and
 *    then wins only with a clearly better combined score;
 * 4. otherwise 'orphaned', keeping the old range and quote.
 */
export function reanchor(newText: string, sel: Selector): AnchorResult {
  const { result, best } = quoteSteps(newText, sel);
  if (result !== null) return result;
  const { exact } = sel;

  // 3. Approximate match.
  const fuzzy = fuzzyCandidates(newText, sel).filter((c) => acceptable(c, exact.length));
  let bestFuzzy: Candidate | null = null;
  let bestFuzzyScore = -Infinity;
  for (const c of fuzzy) {
    const score = fuzzyScore(c, exact.length, sel.start, newText.length);
    if (score > bestFuzzyScore) {
      bestFuzzy = c;
      bestFuzzyScore = score;
    }
  }
  if (best) {
    // A weak-context exact occurrence still beats a fuzzy one unless the fuzzy one scores higher.
    if (!bestFuzzy || fuzzyScore(best, exact.length, sel.start, newText.length) >= bestFuzzyScore) {
      return quoteResult(newText, best, sel);
    }
  }
  if (bestFuzzy) {
    if (bestFuzzy.errors === 0) return quoteResult(newText, bestFuzzy, sel);
    return {
      status: 'anchored',
      method: 'fuzzy',
      start: bestFuzzy.start,
      end: bestFuzzy.end,
      exact: newText.slice(bestFuzzy.start, bestFuzzy.end),
    };
  }

  // 4. Gone.
  return orphaned(sel);
}

/** The result for an annotation that cannot be found: its old range and quote kept. */
function orphaned(sel: Selector): AnchorResult {
  return { status: 'orphaned', method: 'orphaned', start: sel.start, end: sel.end, exact: sel.exact };
}

/**
 * Steps 1 and 2 of {@link reanchor}, which only look for the quote as it
 * stands: their result when they settle the annotation (found with its
 * context, or an empty quote), else null with the best exact occurrence found
 * (of weak context), if any, for step 3 to weigh.
 */
function quoteSteps(newText: string, sel: Selector): { result: AnchorResult | null; best: Candidate | null } {
  const { exact, prefix, suffix } = sel;
  if (exact.length === 0) return { result: orphaned(sel), best: null };

  // 1. Unchanged where it was.
  const holds = newText.slice(sel.start, sel.end) === exact;
  if (holds && contextFit(newText, sel.start, sel.end, prefix, suffix).distance === 0) {
    return { result: { status: 'anchored', method: 'exact', start: sel.start, end: sel.end, exact }, best: null };
  }

  // 2. The exact quote elsewhere, chosen by context then nearness.
  let best: Candidate | null = null;
  for (const s of occurrences(newText, exact)) {
    const e = s + exact.length;
    const c: Candidate = { start: s, end: e, errors: 0, fit: contextFit(newText, s, e, prefix, suffix) };
    if (
      best === null ||
      c.fit.distance < best.fit.distance ||
      (c.fit.distance === best.fit.distance && Math.abs(s - sel.start) < Math.abs(best.start - sel.start))
    ) {
      best = c;
    }
  }
  if (best && best.fit.similarity >= WEAK_CONTEXT) return { result: quoteResult(newText, best, sel), best };
  return { result: null, best };
}

/**
 * {@link reanchor} without its approximate search: the quote where it was or
 * elsewhere (with the best context, however weak), else orphaned. For the
 * annotations a re-anchoring that ran out of time or memory did not place.
 */
export function reanchorWithoutSearch(newText: string, sel: Selector): AnchorResult {
  const { result, best } = quoteSteps(newText, sel);
  return result ?? (best ? quoteResult(newText, best, sel) : orphaned(sel));
}

/**
 * Whether {@link reanchor} has to search the new text approximately for the
 * annotation (its quote does not stand as it was, nor elsewhere with its
 * context): the one costly step, in proportion to the quote's length times
 * the text's (seconds for a quote of tens of thousands of characters).
 */
export function needsApproximateSearch(newText: string, sel: Selector): boolean {
  return quoteSteps(newText, sel).result === null;
}

function quoteResult(text: string, c: Candidate, sel: Selector): AnchorResult {
  const same = c.start === sel.start && c.end === sel.end;
  return { status: 'anchored', method: same ? 'exact' : 'quote', start: c.start, end: c.end, exact: text.slice(c.start, c.end) };
}
