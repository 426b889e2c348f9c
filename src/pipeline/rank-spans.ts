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
  const [head, ...rest] = v.terms;
  for (let i = 0; i < toks.length; i++) {
    const first = toks[i]!;
    if (first.term !== head) continue;
    let prev = first;
    let at = i;
    let ok = true;
    for (const [k, term] of rest.entries()) {
      // The next token of the phrase: scan forward past sub-words at the same
      // position; stop as soon as we are past where it could be.
      let j = at + 1;
      for (; j < toks.length; j++) {
        const t = toks[j]!;
        if (t.position > prev.position + 1) j = toks.length;
        else if (t.term === term && follows(prev, t, v.loose[k])) break;
      }
      if (j >= toks.length) {
        ok = false;
        break;
      }
      prev = toks[j]!;
      at = j;
    }
    if (ok) found.push([first, prev]);
  }
  return found;
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
  return clauses.every((c) => c.some((ci) => ci.variants.some((v) => occurrences(v, toks).length > 0)));
}

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
  return occurrences(joined, toks).length > 0;
}
