/**
 * Where a query's variants stand in a passage: how often (the term
 * frequencies scoring weighs) and at which document ranges (the spans the
 * user sees marked), read from the index's stored frequencies where they
 * answer and from the passage's analysed tokens, which carry document
 * offsets, where they do not.
 */
import type { MatchSpan, Passage, Span } from '../core/types.js';
import { type AnalyzedToken, biword, follows } from './analyze.js';
import type { Variant } from './compile.js';
import type { IdSet } from './idset.js';
import type { CompiledItem, SearchSource } from './rank-types.js';

/**
 * The index terms that must all be present for the variant to match: its one
 * term, or the biwords of its adjacent pairs (which already encode the
 * adjacency rules, so a two-word phrase needs no further check).
 */
export function keyTerms(v: Variant): string[] {
  if (v.terms.length === 1) return v.terms;
  let keys = biwordsOf.get(v);
  if (!keys) biwordsOf.set(v, (keys = v.terms.slice(1).map((t, i) => biword(v.terms[i]!, t, v.loose[i]))));
  return keys;
}

/** Each phrase variant's biwords, made once per query rather than once per candidate. */
const biwordsOf = new WeakMap<Variant, string[]>();

/** Every place the variant's tokens stand in the passage, as [first, last] token pairs. */
function occurrences(v: Variant, toks: AnalyzedToken[]): Array<[AnalyzedToken, AnalyzedToken]> {
  const found: Array<[AnalyzedToken, AnalyzedToken]> = [];
  for (let i = 0; i < toks.length; i++) {
    const last = occurrenceAt(v, toks, i);
    if (last !== undefined) found.push([toks[i]!, last]);
  }
  return found;
}

/**
 * Whether the variant's tokens stand anywhere in the passage: {@link occurrences}
 * stopping at the first. A query's title check asks it of every paper's title.
 */
function holds(v: Variant, toks: AnalyzedToken[]): boolean {
  for (let i = 0; i < toks.length; i++) if (occurrenceAt(v, toks, i) !== undefined) return true;
  return false;
}

/** The last token of the variant's occurrence that starts at token `i`, if one does. */
function occurrenceAt(v: Variant, toks: AnalyzedToken[], i: number): AnalyzedToken | undefined {
  const terms = v.terms;
  const first = toks[i]!;
  if (first.term !== terms[0]) return undefined;
  let prev = first;
  let at = i;
  for (let k = 1; k < terms.length; k++) {
    const term = terms[k];
    // The next token of the phrase: scan forward past sub-words at the same
    // position; stop as soon as we are past where it could be.
    let j = at + 1;
    for (; j < toks.length; j++) {
      const t = toks[j]!;
      if (t.position > prev.position + 1) j = toks.length;
      else if (t.term === term && follows(prev, t, v.loose[k - 1])) break;
    }
    if (j >= toks.length) return undefined;
    prev = toks[j]!;
    at = j;
  }
  return prev;
}

/** Cut a range to the parts inside the passage's pieces, so marks never cover a footnote or running header. */
export function clipToPieces(span: Span, pieces: Span[]): Span[] {
  const out: Span[] = [];
  for (const p of pieces) {
    const start = Math.max(span.start, p.start);
    const end = Math.min(span.end, p.end);
    if (start < end) out.push({ start, end });
  }
  return out;
}

/** A bag of words occurs as often as its rarest word in the passage (0 when one is missing). */
const bagTf = (v: Variant, id: number, src: SearchSource): number => Math.min(...v.terms.map((t) => src.index.frequency(id, t)));

/**
 * How often the variant occurs in the passage as the query's own words (on
 * jieba's word boundaries, for Chinese). One or two terms are answered from
 * the index (stored frequencies of terms and biwords) with no need to read
 * the passage; a longer phrase is verified on the passage's tokens, once its
 * biwords are all there.
 */
export function wordTf(v: Variant, id: number, src: SearchSource, set?: IdSet): number {
  // A bag's words stand at least as often as its phrase does; the bag counts the rest (see `Variant.phrase`).
  if (v.bag) return Math.max(0, bagTf(v, id, src) - (v.phrase ? wordTf(v.phrase, id, src) : 0));
  const tf = set?.frequencies?.[id];
  if (tf !== undefined && tf < 0xffff) return tf;
  const keys = keyTerms(v);
  if (v.terms.length <= 2) return src.index.frequency(id, keys[0]!);
  if (!keys.every((k) => src.index.frequency(id, k) > 0)) return 0;
  return occurrences(v, src.tokens(id)).length;
}

/** The document ranges where the item matched in the passage. */
export function itemSpans(ci: CompiledItem, p: Passage, src: SearchSource, pool: Map<Variant, IdSet>): MatchSpan[] {
  const spans: MatchSpan[] = [];
  for (const v of ci.variants) {
    if (!pool.get(v)?.has(p.id)) continue;
    // A Chinese run marks exactly its characters wherever it stands; a phrase its tokens' range.
    const words = (): Span[] =>
      v.bag
        ? src.tokens(p.id).filter((t) => v.terms.includes(t.term))
        : occurrences(v, src.tokens(p.id)).map(([a, b]) => ({ start: a.start, end: b.end }));
    // A mixed item (GDP增长) marks its grep matches and its word matches (GDP 增长, apart).
    const ranges = v.run !== undefined ? src.runs(p.id, v.run) : v.grep !== undefined ? [...src.runs(p.id, v.grep), ...words()] : words();
    for (const r of ranges) {
      for (const s of clipToPieces(r, p.pieces)) spans.push(v.via ? { ...s, via: v.via } : s);
    }
  }
  return spans;
}

/** Merge overlapping spans; the earliest `via` wins where an expansion and a direct match overlap. */
export function mergeSpans(spans: MatchSpan[]): MatchSpan[] {
  const sorted = [...spans].sort((x, y) => x.start - y.start || y.end - x.end || (x.via ? 1 : 0) - (y.via ? 1 : 0));
  const out: MatchSpan[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.start < last.end) {
      last.end = Math.max(last.end, s.end);
    } else {
      out.push({ ...s });
    }
  }
  return out;
}

/** Whether the title matches every clause. */
export function titleMentions(toks: AnalyzedToken[], clauses: CompiledItem[][]): boolean {
  const terms = termsOf(toks);
  // A word is in the title or not; a phrase needs its words there before its order is looked at.
  const mentions = (v: Variant): boolean =>
    v.terms.length === 1 ? terms.has(v.terms[0]!) : v.terms.every((t) => terms.has(t)) && holds(v, toks);
  return clauses.every((c) => c.some((ci) => ci.variants.some(mentions)));
}

/**
 * The terms of a title's tokens as a set, made once per title: every query asks
 * each paper's title whether it holds the query (the title boost), 8,000 titles
 * at a gigabyte, and scanning the tokens each time was a tenth of a frequent
 * word's query. Keyed by the token array the engine keeps for the title, so a
 * changed title gets its own.
 */
function termsOf(toks: AnalyzedToken[]): Set<string> {
  let terms = termSets.get(toks);
  if (terms === undefined) termSets.set(toks, (terms = new Set(toks.map((t) => t.term))));
  return terms;
}

const termSets = new WeakMap<AnalyzedToken[], Set<string>>();

/** Whether the query's single-item clauses stand together, in order, as one phrase. */
export function wholeQueryAdjacent(clauses: CompiledItem[][], toks: AnalyzedToken[]): boolean {
  if (clauses.some((c) => c.length !== 1)) return false;
  const own = clauses.map((c) => c[0]!.variants[0]!).filter((v) => v.via === undefined);
  if (own.length !== clauses.length) return false;
  // Words typed as separate terms may stand apart by punctuation, as if typed so.
  const joined: Variant = {
    terms: own.flatMap((v) => v.terms),
    tokens: own.flatMap((v) => v.tokens),
    loose: own.flatMap((v, i) => (i === 0 ? v.loose : [true, ...v.loose])),
  };
  return holds(joined, toks);
}
