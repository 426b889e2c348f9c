/**
 * What a passage's score is made of: BM25's constants, the priors by passage
 * kind, the boosts and weights, and the one definition of a strict and a
 * best-match score per candidate, shared by the full ranking (rank.ts) and
 * the top-k path (rank-top.ts), which bounds these scores from above.
 */
import type { Passage, PassageKind } from '../core/types.js';
import type { Variant } from './compile.js';
import { isStopWord } from './best-match.js';
import { IdSet } from './idset.js';
import type { CompiledItem, CompiledLoose, Context, SearchSource } from './rank-types.js';
import { titleMentions, wordTf } from './rank-spans.js';

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

/** Passages any variant of any of the items may match (candidates: scoring checks them). */
function union(items: CompiledItem[], pool: Map<Variant, IdSet>): IdSet {
  const sets: IdSet[] = [];
  for (const ci of items) for (const v of ci.variants) sets.push(pool.get(v) ?? EMPTY);
  return sets.length === 0 ? EMPTY : IdSet.union(sets);
}

/** No passage: what a variant missing from the pool, or a list of items without variants, may match. */
export const EMPTY = IdSet.of([]);

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

/** Per query: whether each document's title matches every clause (one check per document, not per passage). */
export type TitleMemo = Map<string, boolean>;

/** Whether the passage holds a word the query excludes (`-word`). */
export const excludes = (p: Passage, ctx: Context): boolean => ctx.excluded.some((ci) => itemTf(ci, p, ctx.src, ctx.pool) > 0);

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
  if (excludes(p, ctx)) return null;
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
 * Clauses a passage need not hold: a stop word typed among other words
 * (`to` in `assistance to Tibet`). It still counts where it stands (in a
 * glossary entry, in the whole query as a phrase), but a passage that says
 * "assistance toward Tibet" holds everything the query asks for.
 */
const optional = new WeakSet<CompiledItem[]>();

/** Whether a passage may lack the clause (a stop word among other words, see `markOptional`). */
export const isOptional = (clause: CompiledItem[]): boolean => optional.has(clause);

/** Mark the stop-word clauses of a query as optional, unless every clause is one. */
export function markOptional(clauses: CompiledItem[][]): void {
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
export function bestScore(id: number, loose: CompiledLoose, ctx: Context): { p: Passage; score: number; coverage: number } | null {
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
  if (excludes(p, ctx)) return null;
  // How much of the query the passage holds comes first, BM25 (with the kind prior) second: the
  // whole part of the score counts the parts held, the fraction orders passages that hold as many.
  const weight = score * priorOf(p, ctx.src);
  let coverage = 0;
  for (const i of held) coverage += rarity[i]!;
  return { p, score: required.length + coverage + weight / (weight + 1), coverage };
}
