/**
 * Query execution and ranking: a parsed query → ranked passages with the
 * exact document ranges that matched.
 *
 * The index only proposes candidates (passages holding every term of an
 * item). Each candidate is then verified on its analysed tokens, which carry
 * document offsets: a phrase must appear as adjacent tokens, a Chinese run as
 * touching tokens. A Chinese run is also looked for wherever it stands (its
 * bigrams' lists, then the passage's normalised text), so it is found inside
 * a longer word or across jieba's word boundaries too, ranked below a match
 * on word boundaries. So a hit is never a guess, and its match spans are the
 * characters the user will see marked.
 */
import type { Lang, MatchSpan, Passage, PassageKind } from '../core/types.js';
import { runBigrams } from './analyze.js';
import { type Variant, compileItem, glossaryGroups, glossarySpans, grepCandidates } from './compile.js';
import type { PassageIndex } from './index.js';
import { isStopWord, loosen, readsAsQuestion } from './best-match.js';
import type { ParsedQuery, QueryItem } from './query.js';
import { isSummary } from './summary.js';
import { IdSet } from './idset.js';
import type { SearchSource, RankOptions, RankedHit, CompiledItem, MatchMode, Context, CompiledLoose } from './rank-types.js';
import { keyTerms, wordTf, itemSpans, mergeSpans, titleMentions, wholeQueryAdjacent } from './rank-spans.js';

export type { MatchMode, RankOptions, RankedHit, SearchSource } from './rank-types.js';

// BM25 parameters: the common defaults. Passages are short (a paragraph), so
// length normalisation matters less than in whole-document ranking.
/** BM25's term-frequency saturation: how fast repeating a term stops adding to the score. */
export const K1 = 1.2;
const B = 0.75;
/**
 * Priors by passage kind, multiplied into every score. A researcher searching
 * a term wants the passages that say something about it: a paragraph, a list
 * item, a table row or a footnote that discusses it. A heading, the title, a
 * keyword or author line, or a reference entry usually only names the term,
 * and BM25's length normalisation favours such short passages strongly (one
 * match in six words outweighs five in a paragraph), so without a prior the
 * first results for 对口支援 were nineteen bare headings. The priors undo
 * that: a heading that only names the term falls below the paragraphs that
 * discuss it, yet still ranks above passages that merely mention it in
 * passing, and `kind:heading` finds headings when they are what is wanted.
 */
export const KIND_PRIOR: Readonly<Record<PassageKind, number>> = {
  paragraph: 1,
  'list-item': 1,
  table: 1,
  // A footnote is an aside: it may discuss the term, but briefly and beside the argument. A
  // footnote as long as an average passage is a discussion and weighs as a paragraph (priorOf).
  footnote: 0.7,
  // Names the section's topic: a useful pointer, not an answer.
  heading: 0.4,
  title: 0.4,
  // Author, affiliation and keyword lines: they name topics, never discuss them.
  'front-matter': 0.3,
  // A cited title: evidence someone wrote on the term, not what they said.
  reference: 0.3,
};
/**
 * The prior of a passage: its kind's, except that a footnote that only cites
 * a source (author, 《title》, date) is a reference entry in all but its place
 * on the page and weighs like one. Without this, the short citation
 * footnotes of a Chinese paper (`⑧习近平:《…讲话》,2021年2月25日。`) outranked
 * every paragraph on a person or a speech.
 */
const priorOf = (p: Passage, src: SearchSource): number => {
  if (p.kind !== 'footnote') return KIND_PRIOR[p.kind];
  if (src.citesOnly(p.id)) return KIND_PRIOR.reference;
  return src.index.lengthOf(p.id) >= src.index.averageLength ? KIND_PRIOR.paragraph : KIND_PRIOR.footnote;
};
/**
 * An upper bound of {@link priorOf} from the passage's kind and length alone,
 * without reading the passage (the top-k path's bound, rank-top.ts): a
 * footnote may turn out to cite only, which weighs less, never more.
 */
export const priorBound = (kind: PassageKind, id: number, src: SearchSource): number => {
  if (kind !== 'footnote') return KIND_PRIOR[kind];
  const own = src.index.lengthOf(id) >= src.index.averageLength ? KIND_PRIOR.paragraph : KIND_PRIOR.footnote;
  return Math.max(own, KIND_PRIOR.reference);
};
/** A paper's summary (abstract, 摘要, executive summary) says what the whole paper says of the term. */
export const SUMMARY_BOOST = 1.2;
/** A match in the document title: the whole paper is about the term. */
export const TITLE_BOOST = 1.2;
/** A match through the glossary is a translation, a little less certain than the user's own words. */
export const EXPANSION_WEIGHT = 0.8;
/**
 * A translation's words scattered in a passage (see `Variant.bag`) are weaker
 * evidence than the translation as a phrase: found, ranked below.
 */
export const BAG_WEIGHT = 0.5;
/** All the query's words standing together, in order, beat the same words scattered. */
export const PHRASE_BONUS = 1.5;
/**
 * A Chinese run found inside a longer word or across jieba's word boundaries
 * (中国 in 发展中国家) is a weaker match than one jieba cut as the query's own
 * words: found, but ranked below.
 */
export const MID_WORD_WEIGHT = 0.3;

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
      // the document frequency needs the exact count only when it could be the item's largest.
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

/**
 * How often the item occurs in the passage: glossary matches count
 * {@link EXPANSION_WEIGHT}, a Chinese run found only inside longer words or
 * across word boundaries {@link MID_WORD_WEIGHT} (read from the passage's
 * normalised text, for the few passages the words do not already answer).
 */
function itemTf(ci: CompiledItem, p: Passage, src: SearchSource, pool: Map<Variant, IdSet>): number {
  let tf = 0;
  for (const v of ci.variants) {
    const set = pool.get(v);
    if (!set?.has(p.id)) continue;
    let n = wordTf(v, p.id, src, set);
    if (n === 0 && v.run !== undefined) {
      // A two-character run's bigram list is exact: the passage holds it, and one
      // mid-word occurrence is enough to rank it low without reading the text.
      n = MID_WORD_WEIGHT * (v.chars === 2 ? 1 : src.runs(p.id, v.run).length);
    }
    if (n === 0 && v.grep !== undefined) n = MID_WORD_WEIGHT * src.runs(p.id, v.grep).length;
    tf += n * (v.via ? EXPANSION_WEIGHT : 1) * (v.bag ? BAG_WEIGHT : 1) * (v.share ?? 1);
  }
  return tf;
}

/**
 * BM25's inverse document frequency of a term in `df` of `n` passages,
 * floored at a small positive value so a term in most passages still counts a little.
 */
export function idf(df: number, n: number): number {
  // BM25's idf, floored at a small positive value so a term in most passages still counts a little.
  return Math.max(0.01, Math.log(1 + (n - df + 0.5) / (df + 0.5)));
}

/** The ranked passages of a query, with a way to get the marks of any of them. */
export interface RankResult {
  /** Every matching passage, best first (ties in document order). */
  hits: RankedHit[];
  /** The matched ranges of one hit, in document offsets (computed on demand: only a page of hits needs them). */
  matches(p: Passage): MatchSpan[];
  /**
   * `strict`: every hit holds every word. `best`: hits are ranked by how much
   * of the query they hold (quotes, OR groups, exclusions and filters still
   * hold strictly); the results should say so.
   */
  mode: MatchMode;
  /** How many passages hold every word (the strict result's size), in either mode. */
  strictTotal: number;
}

/** Below this many strict hits, best match is tried. */
export const BEST_MATCH_BELOW = 10;

/**
 * The whole-query phrase bonus needs the passages' tokens; it is checked for
 * every candidate of a small result and for the best ones of a large result.
 */
export const BONUS_ALL_BELOW = 2_000;
/** Above {@link BONUS_ALL_BELOW} candidates, how many of the best are checked for the phrase bonus. */
export const BONUS_TOP = 200;

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
 * The largest of the sets' exact sizes: an item's document frequency (the
 * passages of its most frequent variant). A set still to be checked is
 * counted only when its candidates outnumber the largest so far, since its
 * exact size is at most that many.
 */
function largestCount(sets: IdSet[]): number {
  let df = 0;
  for (const s of sets) if (!s.check) df = Math.max(df, s.size);
  for (const s of sets) if (s.check && s.size > df) df = Math.max(df, s.verified().size);
  return df;
}

/** Passages any variant of any of the items may match (candidates: scoring checks them). */
function union(items: CompiledItem[], pool: Map<Variant, IdSet>): IdSet {
  const sets: IdSet[] = [];
  for (const ci of items) for (const v of ci.variants) sets.push(pool.get(v) ?? EMPTY);
  return sets.length === 0 ? EMPTY : IdSet.union(sets);
}

const EMPTY = IdSet.of([]);

/** BM25 weight of an item in a passage (0 when it does not occur). */
function itemScore(ci: CompiledItem, p: Passage, ctx: Context, norm: number): number {
  const tf = itemTf(ci, p, ctx.src, ctx.pool);
  // BM25 term weight, with the item's (phrase) occurrences as its frequency.
  return tf > 0 ? (idf(ci.df, ctx.n) * (tf * (K1 + 1))) / (tf + norm) : 0;
}

/**
 * A passage is scored as if it had at least this share of the average
 * passage length. BM25 rewards short passages steeply (its length
 * normalisation divides by the length), and the shortest passages are the
 * ones that only name a term: a citation footnote, a heading, a table
 * caption. Below the floor, brevity earns nothing more.
 */
const MIN_LENGTH_SHARE = 0.5;

/** BM25's length normalisation for a passage. */
export const lengthNorm = (id: number, ctx: Context): number =>
  K1 * (1 - B + (B * Math.max(ctx.src.index.lengthOf(id), MIN_LENGTH_SHARE * ctx.avg)) / ctx.avg);

/**
 * At most every passage's {@link lengthNorm} (the floor's, less a margin for
 * the rounding of its arithmetic): what bounds a score from a frequency alone.
 */
export const leastLengthNorm = (): number => K1 * (1 - B + B * MIN_LENGTH_SHARE) * (1 - 1e-9);

const order = (x: RankedHit, y: RankedHit): number =>
  y.score - x.score || x.passage.docId.localeCompare(y.passage.docId) || x.passage.start - y.passage.start;

/** Per query: whether each document's title matches every clause (one check per document, not per passage). */
export type TitleMemo = Map<string, boolean>;

/**
 * A passage's strict score before the whole-query phrase bonus, or null when
 * it is not a strict hit: the sum of the clauses' BM25 weights, times the
 * passage kind's prior and the title boost. The one definition of a strict
 * score, for the full ranking and the top-k path alike. The top-k path
 * bounds it from above without reading the passage (`strictBound` in
 * rank-top.ts): a factor added here must be bounded there too, and
 * tests/rank-top.test.ts compares the two paths on random queries.
 */
export function strictScore(id: number, clauses: CompiledItem[][], ctx: Context, titles: TitleMemo): { p: Passage; score: number } | null {
  const p = ctx.src.passage(id);
  if (!p || !ctx.accept(p)) return null;
  const norm = lengthNorm(id, ctx);
  const required = clausesScore(clauses, p, ctx, norm);
  if (required === null) return null;
  let score = required;
  if (ctx.excluded.some((ci) => itemTf(ci, p, ctx.src, ctx.pool) > 0)) return null;
  score *= priorOf(p, ctx.src);
  if (clauses.length > 0) {
    let title = titles.get(p.docId);
    if (title === undefined) titles.set(p.docId, (title = titleMentions(ctx.src.titleTokens(p.docId), clauses)));
    if (title) score *= TITLE_BOOST;
  }
  return { p, score };
}

/** The passages strict matching looks at: the smallest clause's candidates, or every passage for a query of filters only. */
export function strictCandidates(clauses: CompiledItem[][], ctx: Context): Iterable<number> {
  // A query without text terms (only filters, e.g. `tag:援藏`) looks at every passage.
  if (clauses.length === 0) {
    return (function* () {
      for (const p of ctx.src.passages()) yield p.id;
    })();
  }
  return clauses
    .filter((c) => !optional.has(c))
    .map((c) => union(c, ctx.pool))
    .sort((a, b) => a.size - b.size)[0]!;
}

/**
 * Strict matching: every clause must match. Score: {@link strictScore},
 * times the whole-query phrase bonus.
 */
function strictHits(clauses: CompiledItem[][], ctx: Context): RankedHit[] {
  const titles: TitleMemo = new Map();
  const hits: RankedHit[] = [];
  for (const id of strictCandidates(clauses, ctx)) {
    const s = strictScore(id, clauses, ctx, titles);
    if (s !== null) hits.push({ passage: s.p, score: s.score });
  }
  hits.sort(order);
  if (clauses.length > 1) {
    const checked = hits.length <= BONUS_ALL_BELOW ? hits : hits.slice(0, BONUS_TOP);
    for (const h of checked) if (wholeQueryAdjacent(clauses, ctx.src.tokens(h.passage.id))) h.score *= PHRASE_BONUS;
    checked.sort(order);
    if (checked !== hits) hits.splice(0, checked.length, ...checked);
  }
  return hits;
}

/**
 * Clauses a passage need not hold: a stop word typed among other words
 * (`to` in `assistance to Tibet`). It still counts where it stands (in a
 * glossary entry, in the whole query as a phrase), but a passage that says
 * "assistance toward Tibet" holds everything the query asks for.
 */
const optional = new WeakSet<CompiledItem[]>();

/** Whether a passage may lack the clause (a stop word among other words, see `markOptional`). */
export const isOptional = (clause: CompiledItem[]): boolean => optional.has(clause);

/** Mark the stop-word clauses of a query as optional, unless every clause is one. */
function markOptional(clauses: CompiledItem[][]): void {
  const stop = (c: CompiledItem[]): boolean => c.length === 1 && c[0]!.item.kind === 'term' && isStopWord(c[0]!.item.text);
  if (clauses.every(stop)) return;
  for (const c of clauses) if (stop(c)) optional.add(c);
}

/**
 * The summed score of clauses that must all match (an AND of ORs), or null
 * when one of them has nothing in the passage. Shared by strict and best match.
 */
function clausesScore(clauses: CompiledItem[][], p: Passage, ctx: Context, norm: number): number | null {
  let score = 0;
  for (const clause of clauses) {
    let clauseScore = 0;
    for (const ci of clause) clauseScore += itemScore(ci, p, ctx, norm);
    if (clauseScore === 0) {
      if (optional.has(clause)) continue;
      return null;
    }
    score += clauseScore;
  }
  return score;
}

/**
 * Best match: the required clauses must match as in strict mode, and
 * passages are ranked by how much of the query they hold — the required
 * clauses and the words, a word group (`counterpart support`, or its
 * translation 对口支援) counting as the words it covers — then by BM25 over
 * the words (a group's weight replacing its words' when it is larger) times
 * the kind prior. Each word counts by its rarity (idf over the query's mean
 * idf), so passages with every word come first, a passage missing a common
 * word ranks above one missing a rare one, a passage that repeats one word
 * never outranks one holding more of the query's weight, and a translated
 * pair counts as both its words.
 */
function bestHits(loose: CompiledLoose, ctx: Context): RankedHit[] {
  const hits: RankedHit[] = [];
  for (const id of bestCandidates(loose, ctx)) {
    const s = bestScore(id, loose, ctx);
    if (s !== null) hits.push({ passage: s.p, score: s.score });
  }
  return hits.sort(order);
}

/** The passages best match looks at: the smallest required clause's candidates, or those of any word or group. */
export function bestCandidates(loose: CompiledLoose, ctx: Context): IdSet {
  const { required, words, groups } = loose;
  return required.length > 0
    ? required.map((c) => union(c, ctx.pool)).sort((a, b) => a.size - b.size)[0]!
    : union([...words, ...groups.map((g) => g.ci)], ctx.pool);
}

/**
 * A passage's best-match score, or null when it is not a best-match hit: the
 * one definition for the full ranking and the top-k path alike. The top-k
 * path bounds it from above without reading the passage (`bestBound` in
 * rank-top.ts): a factor added here must be bounded there too, and
 * tests/rank-top.test.ts compares the two paths on random queries.
 */
export function bestScore(id: number, loose: CompiledLoose, ctx: Context): { p: Passage; score: number } | null {
  const { required, words, groups, rarity } = loose;
  const p = ctx.src.passage(id);
  if (!p || !ctx.accept(p)) return null;
  const norm = lengthNorm(id, ctx);
  const requiredScore = clausesScore(required, p, ctx, norm);
  if (requiredScore === null) return null;
  let score = requiredScore;
  // Each word's share of the score: its own weight, or its share of a group's when that is more
  // (a group is another way to hold its words, through their translation, not a bonus on top).
  const share = words.map((ci) => itemScore(ci, p, ctx, norm));
  const held = new Set<number>(share.flatMap((w, i) => (w > 0 ? [i] : [])));
  for (const g of groups) {
    const w = itemScore(g.ci, p, ctx, norm);
    if (w <= g.covers.reduce((sum, i) => sum + share[i]!, 0)) continue;
    for (const i of g.covers) {
      share[i] = w / g.covers.length;
      held.add(i);
    }
  }
  score += share.reduce((sum, w) => sum + w, 0);
  if (score === 0) return null;
  if (ctx.excluded.some((ci) => itemTf(ci, p, ctx.src, ctx.pool) > 0)) return null;
  // How much of the query the passage holds comes first, BM25 (with the kind prior) second: the
  // whole part of the score counts the parts held, the fraction orders passages that hold as many.
  const weight = score * priorOf(p, ctx.src);
  let coverage = 0;
  for (const i of held) coverage += rarity[i]!;
  return { p, score: required.length + coverage + weight / (weight + 1) };
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

/**
 * Run a parsed query against the corpus: strictly, or by best match when
 * strict matching finds fewer than {@link BEST_MATCH_BELOW} passages or the
 * query reads as a question (see `best-match.ts`).
 */
export function rank(q: ParsedQuery, src: SearchSource, opts: RankOptions = {}): RankResult {
  const { expand, pool, clauses, ctx } = compileQuery(q, src, opts);
  const strict = strictHits(clauses, ctx);
  const spans = (items: CompiledItem[]) => (p: Passage) => mergeSpans(items.flatMap((ci) => itemSpans(ci, p, src, pool)));
  const result: RankResult = { hits: strict, matches: spans(clauses.flat()), mode: 'strict', strictTotal: strict.length };
  if ((opts.match ?? 'auto') === 'strict') return result;
  if (strict.length >= BEST_MATCH_BELOW && !readsAsQuestion(q)) {
    boostSummaries(strict, src);
    return result;
  }

  const loose = compileLoose(q, { expand, pool, clauses, ctx });
  if (loose === null) return result;
  const best = bestHits(loose, ctx);
  // Every strict hit holds the words too, so an empty best match means nothing matched at all.
  if (best.length === 0) return result;
  return { hits: best, matches: spans(looseItems(loose)), mode: 'best', strictTotal: strict.length };
}

/**
 * A paper's summary that matches the query ranks a little above the paper's
 * other matches (see summary.ts). Checked for the best hits only, as the
 * phrase bonus is, and not in strict mode, which the benchmark times. The
 * top-k path (rank-top.ts) applies the same rule to the same first hits: a
 * change here must be made there too, and tests/rank-top.test.ts compares them.
 */
function boostSummaries(hits: RankedHit[], src: SearchSource): void {
  const checked = hits.slice(0, BONUS_TOP);
  let boosted = false;
  for (const h of checked) {
    if (!summaryPassage(h.passage, src)) continue;
    h.score *= SUMMARY_BOOST;
    boosted = true;
  }
  if (!boosted) return;
  checked.sort(order);
  hits.splice(0, checked.length, ...checked);
}

/**
 * Whether the passage gets {@link SUMMARY_BOOST}: the one test for the full
 * ranking and the top-k path, which applies the boost as `boostSummaries`
 * does, to the first {@link BONUS_TOP} hits of the ranking after the phrase bonus.
 */
export const summaryPassage = (p: Passage, src: SearchSource): boolean => isSummary(p, () => src.tokens(p.id)[0]?.term);
