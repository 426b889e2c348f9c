/**
 * Query execution and ranking: a parsed query → ranked passages with the
 * exact document ranges that matched.
 *
 * The index only proposes candidates (passages holding every term of an
 * item). Each candidate is then verified on its analysed tokens, which carry
 * document offsets: a phrase must appear as adjacent tokens, a Chinese run as
 * touching tokens. So a hit is never a guess, and its match spans are the
 * characters the user will see marked.
 */
import type { Lang, MatchSpan, Passage, Span } from '../core/types.js';
import { type AnalyzedToken, analyze, biword, follows, typedApart } from './analyze.js';
import type { PassageIndex } from './index.js';
import type { ParsedQuery, QueryItem } from './query.js';

/** What the ranking stage needs from the corpus. */
export interface SearchSource {
  index: PassageIndex;
  /** A passage by id. */
  passage(id: number): Passage | undefined;
  /** Every passage, in document order. */
  passages(): Iterable<Passage>;
  /** The passage's analysed tokens (index mode), offsets in document coordinates. */
  tokens(id: number): AnalyzedToken[];
  /** Analysed tokens (index mode) of a document's title, for title boosts. */
  titleTokens(docId: string): AnalyzedToken[];
  /** Cross-lingual equivalents of a term or phrase as typed: text to search and the glossary term shown as `via`. */
  expansions(text: string): { text: string; via: string }[];
}

/** Options of one search. */
export interface RankOptions {
  /** Use the glossary to add the other language's terms (default true). */
  expand?: boolean;
  /** Only passages for which this returns true (the annotation layer's tag:/note: filters). */
  restrict?: (p: Passage) => boolean;
}

/** A passage that matched, with its score. */
export interface RankedHit {
  passage: Passage;
  score: number;
}

/** One way to satisfy a query item: a token sequence, found directly or through the glossary. */
interface Variant {
  terms: string[];
  /** Query tokens, for adjacency rules (script, positions). */
  tokens: AnalyzedToken[];
  /** For each pair of consecutive terms: whether they were typed apart (see {@link typedApart}). */
  loose: boolean[];
  via?: string;
}

/** A variant from the query tokens of one typed term or phrase. */
function variant(tokens: AnalyzedToken[], via?: string): Variant {
  const v: Variant = { terms: tokens.map((t) => t.term), tokens, loose: tokens.slice(1).map((t, i) => typedApart(tokens[i]!, t)) };
  if (via !== undefined) v.via = via;
  return v;
}

/** A query item after analysis. */
interface CompiledItem {
  item: QueryItem;
  variants: Variant[];
  /** Passages the item's variants may match (unverified); the item's document frequency for BM25. */
  df: number;
}

// BM25 parameters: the common defaults. Passages are short (a paragraph), so
// length normalisation matters less than in whole-document ranking.
const K1 = 1.2;
const B = 0.75;
/** Headings and titles say what a section is about: a match there counts double. */
const HEADING_BOOST = 2;
/** A match in the document title: the whole paper is about the term. */
const TITLE_BOOST = 1.2;
/** A match through the glossary is a translation, a little less certain than the user's own words. */
const EXPANSION_WEIGHT = 0.8;
/** All the query's words standing together, in order, beat the same words scattered. */
const PHRASE_BONUS = 1.5;

function compile(item: QueryItem, src: SearchSource, expand: boolean): CompiledItem {
  const variants: Variant[] = [];
  const own = analyze(item.text, 'query');
  if (own.length > 0) variants.push(variant(own));
  if (expand) {
    for (const e of src.expansions(item.text)) {
      const toks = analyze(e.text, 'query');
      if (toks.length > 0) variants.push(variant(toks, e.via));
    }
  }
  return { item, variants, df: 0 };
}

/**
 * The index terms that must all be present for the variant to match: its one
 * term, or the biwords of its adjacent pairs (which already encode the
 * adjacency rules, so a two-word phrase needs no further check).
 */
function keyTerms(v: Variant): string[] {
  if (v.terms.length === 1) return v.terms;
  return v.terms.slice(1).map((t, i) => biword(v.terms[i]!, t, v.loose[i]));
}

/**
 * Passages that hold the variant: those with all its words (from FlexSearch),
 * then, for a phrase, those that also hold each of its biwords (from the
 * passages' stored frequencies). Exact for one or two terms; candidates to
 * verify for longer phrases.
 */
function candidates(v: Variant, index: PassageIndex): Set<number> {
  const lists = [...new Set(v.terms)].map((t) => index.lookup(t)).sort((a, b) => a.length - b.length);
  const first = lists[0];
  if (!first) return new Set();
  let set = new Set(first);
  for (const list of lists.slice(1)) {
    const other = new Set(list);
    set = new Set([...set].filter((id) => other.has(id)));
    if (set.size === 0) break;
  }
  if (v.terms.length > 1) {
    const pairs = keyTerms(v);
    set = new Set([...set].filter((id) => pairs.every((b) => index.frequency(id, b) > 0)));
  }
  return set;
}

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

/**
 * How often the item occurs in the passage (glossary matches count
 * {@link EXPANSION_WEIGHT}). A one-term variant is answered from the index
 * (membership and stored frequency) with no need to read the passage; a
 * phrase is verified on the passage's tokens.
 */
function itemTf(ci: CompiledItem, p: Passage, src: SearchSource, pool: Map<Variant, Set<number>>): number {
  let tf = 0;
  for (const v of ci.variants) {
    if (!pool.get(v)?.has(p.id)) continue;
    // One term or a two-term phrase: the index knows how often it occurs.
    // A longer phrase is verified on the passage's tokens.
    const n = v.terms.length <= 2 ? src.index.frequency(p.id, keyTerms(v)[0]!) : occurrences(v, src.tokens(p.id)).length;
    tf += n * (v.via ? EXPANSION_WEIGHT : 1);
  }
  return tf;
}

/** The document ranges where the item matched in the passage. */
function itemSpans(ci: CompiledItem, p: Passage, src: SearchSource, pool: Map<Variant, Set<number>>): MatchSpan[] {
  const spans: MatchSpan[] = [];
  for (const v of ci.variants) {
    if (!pool.get(v)?.has(p.id)) continue;
    for (const [a, b] of occurrences(v, src.tokens(p.id))) {
      for (const s of clipToPieces({ start: a.start, end: b.end }, p.pieces)) {
        spans.push(v.via ? { ...s, via: v.via } : s);
      }
    }
  }
  return spans;
}

function idf(df: number, n: number): number {
  // BM25's idf, floored at a small positive value so a term in most passages still counts a little.
  return Math.max(0.01, Math.log(1 + (n - df + 0.5) / (df + 0.5)));
}

/** Merge overlapping spans; the earliest `via` wins where an expansion and a direct match overlap. */
function mergeSpans(spans: MatchSpan[]): MatchSpan[] {
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

/** The ranked passages of a query, with a way to get the marks of any of them. */
export interface RankResult {
  /** Every matching passage, best first (ties in document order). */
  hits: RankedHit[];
  /** The matched ranges of one hit, in document offsets (computed on demand: only a page of hits needs them). */
  matches(p: Passage): MatchSpan[];
}

/**
 * The whole-query phrase bonus needs the passages' tokens; it is checked for
 * every candidate of a small result and for the best ones of a large result.
 */
const BONUS_ALL_BELOW = 2_000;
const BONUS_TOP = 200;

/**
 * Run a parsed query against the corpus.
 */
export function rank(q: ParsedQuery, src: SearchSource, opts: RankOptions = {}): RankResult {
  const expand = opts.expand ?? true;
  const clauses = q.clauses
    .map((c) => c.map((item) => compile(item, src, expand)).filter((ci) => ci.variants.length > 0))
    .filter((c) => c.length > 0);
  const excluded = q.exclude.map((item) => compile(item, src, false)).filter((ci) => ci.variants.length > 0);

  // Candidates per variant, computed once and shared by every check below.
  const pool = new Map<Variant, Set<number>>();
  for (const ci of [...clauses.flat(), ...excluded]) {
    for (const v of ci.variants) pool.set(v, candidates(v, src.index));
    ci.df = Math.max(...ci.variants.map((v) => pool.get(v)?.size ?? 0));
  }

  const accept = (p: Passage): boolean =>
    (q.filters.lang === undefined || p.lang === (q.filters.lang satisfies Lang)) &&
    (q.filters.docs.length === 0 || q.filters.docs.includes(p.docId)) &&
    (opts.restrict === undefined || opts.restrict(p));

  // Start from the smallest clause's candidates; a query without text terms
  // (only filters, e.g. `tag:援藏`) looks at every passage.
  let ids: Iterable<number>;
  if (clauses.length === 0) {
    ids = (function* () {
      for (const p of src.passages()) yield p.id;
    })();
  } else {
    const clauseSets = clauses.map((c) => {
      const s = new Set<number>();
      for (const ci of c) for (const v of ci.variants) for (const id of pool.get(v) ?? []) s.add(id);
      return s;
    });
    clauseSets.sort((a, b) => a.size - b.size);
    ids = clauseSets[0]!;
  }

  const n = Math.max(1, src.index.size);
  const avg = src.index.averageLength;
  const hits: RankedHit[] = [];
  for (const id of ids) {
    const p = src.passage(id);
    if (!p || !accept(p)) continue;
    let score = 0;
    let ok = true;
    const norm = K1 * (1 - B + (B * src.index.lengthOf(id)) / avg);
    for (const clause of clauses) {
      let clauseScore = 0;
      for (const ci of clause) {
        const tf = itemTf(ci, p, src, pool);
        // BM25 term weight, with the item's (phrase) occurrences as its frequency.
        if (tf > 0) clauseScore += (idf(ci.df, n) * (tf * (K1 + 1))) / (tf + norm);
      }
      if (clauseScore === 0) {
        ok = false;
        break;
      }
      score += clauseScore;
    }
    if (!ok) continue;
    if (excluded.some((ci) => itemTf(ci, p, src, pool) > 0)) continue;

    if (p.kind === 'heading' || p.kind === 'title') score *= HEADING_BOOST;
    if (clauses.length > 0 && titleMentions(src.titleTokens(p.docId), clauses)) score *= TITLE_BOOST;
    hits.push({ passage: p, score });
  }
  const order = (x: RankedHit, y: RankedHit): number =>
    y.score - x.score || x.passage.docId.localeCompare(y.passage.docId) || x.passage.start - y.passage.start;
  hits.sort(order);
  if (clauses.length > 1) {
    const checked = hits.length <= BONUS_ALL_BELOW ? hits : hits.slice(0, BONUS_TOP);
    for (const h of checked) if (wholeQueryAdjacent(clauses, src.tokens(h.passage.id))) h.score *= PHRASE_BONUS;
    checked.sort(order);
    if (checked !== hits) hits.splice(0, checked.length, ...checked);
  }
  return {
    hits,
    matches: (p) => mergeSpans(clauses.flatMap((c) => c.flatMap((ci) => itemSpans(ci, p, src, pool)))),
  };
}

/** Whether the title matches every clause. */
function titleMentions(toks: AnalyzedToken[], clauses: CompiledItem[][]): boolean {
  return clauses.every((c) => c.some((ci) => ci.variants.some((v) => occurrences(v, toks).length > 0)));
}

/** Whether the query's single-item clauses stand together, in order, as one phrase. */
function wholeQueryAdjacent(clauses: CompiledItem[][], toks: AnalyzedToken[]): boolean {
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
