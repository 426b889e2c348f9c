/**
 * Compiling a query for ranking: its items analysed into variants (see
 * compile.ts), expanded through the glossary, and each variant's candidate
 * passages looked up in the index once per query (posting lists, their
 * bitmaps and intersections memoised per query), with each item's document
 * frequency; the best-match form of the query likewise.
 */
import type { Lang } from '../core/types.js';
import { runBigrams } from './analyze.js';
import { type Variant, compileItem, glossaryGroups, glossarySpans, grepCandidates } from './compile.js';
import type { PassageIndex } from './index.js';
import { loosen } from './best-match.js';
import type { ParsedQuery, QueryItem } from './query.js';
import { IdSet } from './idset.js';
import type { CompiledItem, CompiledLoose, Context, RankOptions, SearchSource } from './rank-types.js';
import { EMPTY, idf, markOptional } from './rank-score.js';
import { keyTerms } from './rank-spans.js';

/**
 * Passages that may hold the variant: those with all its words (from
 * FlexSearch); for a phrase, with the check that they also hold each of its
 * biwords (from the passages' stored frequencies), which scoring makes for
 * the passages it reads (see `IdSet.check`). A Chinese run's candidates are
 * the passages holding all its bigrams (exact for two characters), a
 * superset of its word-path candidates.
 */
function candidates(v: Variant, index: PassageIndex, memo: TermMemo): IdSet {
  let set: IdSet;
  // A one-word variant's candidates and frequencies come from one copy of its posting list (for a
  // two-character run, its one bigram is the word: the same list).
  const word = v.terms.length === 1 && !v.bag && v.grep === undefined ? v.terms[0]! : undefined;
  const grams = v.run === undefined ? undefined : runBigrams(v.run);
  const memoized = typeof index.termPostings === 'function';
  if (word !== undefined && (grams === undefined || (grams.length === 1 && grams[0] === word)) && memoized) {
    const { ids, frequencies } = termPostings(memo, index, word);
    set = IdSet.of(ids);
    set.frequencies = frequencies;
    return set;
  }
  // Several words: their lists intersected once per query (see allOf), each list copied from the index once.
  const allOf = (terms: string[]): IdSet => (memoized ? intersectionOf(memo, index, terms) : IdSet.of(index.lookupAll(terms)));
  if (grams !== undefined) {
    set = IdSet.of(grams.length === 0 ? index.lookupChar(v.run!) : index.lookupAll(grams));
  } else if (v.grep !== undefined) {
    return IdSet.of(grepCandidates(v, index));
  } else if (v.bag) {
    return allOf(v.terms);
  } else {
    set = allOf(v.terms);
    if (v.terms.length > 1) {
      // Checked where it matters, not here: scoring reads the biwords' frequencies anyway, and
      // the document frequency counts the candidates (see largestCount).
      const pairs = keyTerms(v);
      set.check = (id) => pairs.every((b) => index.frequency(id, b) > 0);
      return set;
    }
  }
  // A one-word variant's frequencies come from the word's posting list, for every candidate at once.
  if (v.terms.length === 1 && memoized) set.frequencies = termPostings(memo, index, v.terms[0]!).frequencies;
  else if (v.terms.length === 1 && typeof index.termFrequencies === 'function') set.frequencies = index.termFrequencies(v.terms[0]!);
  return set;
}

/** A query's single terms' posting lists and frequency tables (see {@link termPostings}), by term. */
export type TermMemo = Map<string, { ids: Int32Array; frequencies: Uint16Array }>;

/**
 * A single term's posting list and frequency table, copied from the index
 * once per query: a glossary expansion names the same words in several
 * translations (`counterpart assistance`, `pairing assistance`), and the
 * top-k path reads the tables of the words it intersected.
 */
export function termPostings(memo: TermMemo, index: PassageIndex, term: string): { ids: Int32Array; frequencies: Uint16Array } {
  let t = memo.get(term);
  if (!t) memo.set(term, (t = index.termPostings(term)));
  return t;
}

/** Each query's intersections of several words' posting lists, by the words (see {@link intersectionOf}). */
const intersections = new WeakMap<TermMemo, Map<string, IdSet>>();

/**
 * The passages holding every one of the words, intersected once per query:
 * an expanded query's translations stand as a phrase and, outside strict
 * mode, as a bag of the same words, and two glossary entries may stem to the
 * same words (`pairing assistance`, `paired assistance`). Each caller gets
 * its own set over the shared members, since a phrase sets its check on it.
 */
function intersectionOf(memo: TermMemo, index: PassageIndex, terms: string[]): IdSet {
  let known = intersections.get(memo);
  if (!known) intersections.set(memo, (known = new Map()));
  const key = terms.join('\u0000');
  let set = known.get(key);
  if (!set) known.set(key, (set = IdSet.allOf(terms.map((t) => termBits(memo, index, t)))));
  return set.members();
}

/** Each query's bitmaps of single terms' posting lists, by term (see {@link termBits}). */
const bitmaps = new WeakMap<TermMemo, Map<string, Uint32Array>>();

/**
 * A single term's posting list as a bitmap, made once per query: the
 * translations of an expanded query share their words (`counterpart`,
 * `assist`, `pair` each stand in two or three), and two bitmaps intersect a
 * word of 32 passages at a time.
 */
function termBits(memo: TermMemo, index: PassageIndex, term: string): Uint32Array {
  let known = bitmaps.get(memo);
  if (!known) bitmaps.set(memo, (known = new Map()));
  let bits = known.get(term);
  if (!bits) known.set(term, (bits = IdSet.bitsOf(termPostings(memo, index, term).ids)));
  return bits;
}

/** Each query's {@link TermMemo}, by its pool. */
const termMemos = new WeakMap<Map<Variant, IdSet>, TermMemo>();

/** The query's {@link TermMemo} (keyed by its pool). */
export function termMemo(pool: Map<Variant, IdSet>): TermMemo {
  let memo = termMemos.get(pool);
  if (!memo) termMemos.set(pool, (memo = new Map()));
  return memo;
}

/** Extra translations of a clause's word from a multi-word glossary entry (see `glossaryGroups` in compile.ts). */
type GroupExpansions = { text: string; via: string; share: number }[];

/** An item and its variants (see compile.ts), expanded through the glossary when `expand`. */
function compile(item: QueryItem, src: SearchSource, expand: boolean, extra?: GroupExpansions, bags = false, derive = false): CompiledItem {
  return { item, variants: compileItem(item, expand ? (text) => src.expansions(text) : null, extra, { bags, derive }), df: 0 };
}

/**
 * Candidate sets by what a variant is, per query (keyed by its pool): a
 * multi-word glossary entry's translation stands in each of its words'
 * clauses, and is looked up once.
 */
const byContent = new WeakMap<Map<Variant, IdSet>, Map<string, IdSet>>();

/** Compile items and put their variants' candidates in the pool (each variant looked up once). */
function compileAll(
  items: QueryItem[],
  ctx: Pick<Context, 'src' | 'pool' | 'bags' | 'derive'>,
  expand: boolean,
  extra?: GroupExpansions,
): CompiledItem[] {
  const out = items.map((item) => compile(item, ctx.src, expand, extra, ctx.bags, ctx.derive)).filter((ci) => ci.variants.length > 0);
  let cache = byContent.get(ctx.pool);
  if (!cache) byContent.set(ctx.pool, (cache = new Map()));
  for (const ci of out) {
    for (const v of ci.variants) {
      if (ctx.pool.has(v)) continue;
      const key = `${v.run ?? v.grep ?? ''}\u0000${v.terms.join(' ')}\u0000${v.loose.join()}\u0000${v.bag ? 'bag' : ''}`;
      let set = cache.get(key);
      if (!set) cache.set(key, (set = candidates(v, ctx.src.index, termMemo(ctx.pool))));
      ctx.pool.set(v, set);
    }
    // A derived form (competition for compete) does not make the typed word commoner,
    // unless the word itself is nowhere (then the form is all there is to weigh).
    const sets = (vs: Variant[]) => vs.map((v) => ctx.pool.get(v) ?? EMPTY);
    ci.df = largestCount(sets(ci.variants.filter((v) => !v.derived))) || largestCount(sets(ci.variants));
  }
  return out;
}

/**
 * The largest of the sets' sizes: an item's document frequency (the
 * candidates of its most frequent variant). A phrase counts the passages
 * holding all its words, not only those where they stand together, as a
 * Chinese run counts those holding all its bigrams and a translation's bag
 * of words (outside strict mode) its passages: Lucene too weighs a phrase by
 * its words' frequencies. Counting exactly meant checking every candidate of
 * the commonest translation before ranking began (40,000 passages for
 * _counterpart support_ at 100 MB, about half of strictly expanded 对口支援's
 * time, and most of a question's), while the ranking checks only the
 * candidates it reads.
 */
function largestCount(sets: IdSet[]): number {
  let df = 0;
  for (const s of sets) df = Math.max(df, s.size);
  return df;
}

/** Every item of a best-match query, for its match spans. */
export const looseItems = (l: CompiledLoose): CompiledItem[] => [...l.required.flat(), ...l.words, ...l.groups.map((g) => g.ci)];

/** The best-match form of a compiled query, or null when loosening would change nothing. */
export function compileLoose(q: ParsedQuery, cq: CompiledQuery): CompiledLoose | null {
  const { expand, ctx } = cq;
  const src = ctx.src;
  const loose = loosen(q, expand ? glossarySpans(q.clauses, (text) => src.expansions(text)) : []);
  if (loose === null) return null;
  const required = loose.required.map((c) => compileAll(c, ctx, expand)).filter((c) => c.length > 0);
  // Words keep their places (groups refer to them by index); a word with no analysed term scores 0.
  const words = loose.words.map((w) => compileAll([w], { ...ctx, derive: true }, expand)[0] ?? { item: w, variants: [], df: 0 });
  const groups = loose.groups.flatMap((g) => compileAll([g.item], ctx, expand).map((ci) => ({ ci, covers: g.covers })));
  const idfs = words.map((ci) => idf(ci.df, ctx.n));
  const meanIdf = idfs.reduce((s, w) => s + w, 0) / Math.max(1, idfs.length);
  const rarity = idfs.map((w) => (meanIdf > 0 ? w / meanIdf : 1));
  return { required, words, groups, rarity };
}

/** A query compiled for ranking: its clauses, and what scoring them needs. */
export interface CompiledQuery {
  expand: boolean;
  pool: Map<Variant, IdSet>;
  clauses: CompiledItem[][];
  ctx: Context;
}

/** Compile a query's clauses and exclusions and look up their candidates (the start of every ranking). */
export function compileQuery(q: ParsedQuery, src: SearchSource, opts: RankOptions): CompiledQuery {
  const expand = opts.expand ?? true;
  const pool = new Map<Variant, IdSet>();
  // Words that together make a multi-word glossary entry each gain its translation.
  const entries = expand ? glossaryGroups(q.clauses, (text) => src.expansions(text)) : new Map<number, GroupExpansions>();
  const bags = (opts.match ?? 'auto') !== 'strict';
  const clauses = q.clauses.map((c, i) => compileAll(c, { src, pool, bags }, expand, entries.get(i))).filter((c) => c.length > 0);
  const excluded = compileAll(q.exclude, { src, pool }, false);
  // Strict mode is what the benchmark's baselines compute: every word, stop words too.
  if (bags) markOptional(clauses);
  const { lang, docs, kinds } = q.filters;
  const ctx: Context = {
    src,
    pool,
    excluded,
    bags,
    n: Math.max(1, src.index.size),
    avg: src.index.averageLength,
    accept: (p) =>
      (lang === undefined || p.lang === (lang satisfies Lang)) &&
      (docs.length === 0 || docs.includes(p.docId)) &&
      (kinds === undefined || kinds.length === 0 || kinds.includes(p.kind)) &&
      (opts.restrict === undefined || opts.restrict(p)),
  };
  return { expand, pool, clauses, ctx };
}
