/**
 * The first k hits of a query without scoring every hit: what a page of
 * results needs. The answer is exactly {@link rank}'s first k (same passages,
 * order and scores) with the same total and per-paper counts.
 *
 * 1. One cheap pass over the candidates reads only bitmaps and typed arrays:
 *    each one-word variant's frequency comes from its posting list's slots
 *    (see index.ts), a phrase's is at most its rarest word's, and the passage
 *    kind's prior and the title boost are known per passage and per paper.
 *    That settles whether most candidates are hits (counted for the total and
 *    per paper) and bounds each one's score from above ({@link strictBound}).
 *    A candidate the tables cannot settle (a longer phrase to verify on the
 *    tokens, a Chinese run found only inside longer words) is scored exactly.
 * 2. Candidates are then scored exactly ({@link strictScore}, the one
 *    definition the full ranking uses) in descending order of their bound,
 *    and the pass stops once the next bound is below the k-th best score:
 *    no later candidate can enter (MaxScore's stopping rule). A frequent word
 *    or a glossary expansion with tens of thousands of hits scores a few
 *    hundred.
 * 3. The whole-query phrase bonus is applied as the full ranking does (top.ts),
 *    and then, outside strict mode, the summary boost to the first
 *    `BONUS_TOP` hits of that order, as `boostSummaries` in rank.ts does.
 *
 * A query of plain words — every variant one or two words, or a Chinese run
 * of them, as most queries are — takes step 1 from the frequency tables
 * alone ({@link plainPass}), keeping only the hits that can still reach the
 * first k: one word, or one item of several variants, impact first (hits
 * counted and grouped by frequency, groups bounded from the most frequent
 * down until the k-th best exact score beats the next group's bound:
 * {@link oneWordPass}, {@link itemPass}). A `doc:` filter starts from the
 * named papers' passages.
 *
 * Best match (a thin strict result, or a question: see best-match.ts) takes
 * the same three steps over its own candidates (any word or group of the
 * loosened query): {@link bestBound} settles most candidates from the tables
 * and bounds each one's {@link bestScore} — how much of the query it may hold
 * (the rarity of every word it may hold), plus the most its BM25 fraction can
 * be — and candidates are scored exactly in descending order of that bound
 * until no later one can enter the first k. A question of common words
 * scores a few dozen passages instead of every passage holding any word.
 */
import type { Lang, MatchSpan, Passage, PassageKind } from '../core/types.js';
import type { Variant } from './compile.js';
import { IdSet } from './idset.js';
import type { ParsedQuery } from './query.js';
import {
  BEST_MATCH_BELOW,
  BONUS_ALL_BELOW,
  BONUS_TOP,
  type CompiledItem,
  type CompiledLoose,
  type Context,
  BAG_WEIGHT,
  EXPANSION_WEIGHT,
  K1,
  KIND_PRIOR,
  MID_WORD_WEIGHT,
  type MatchMode,
  PHRASE_BONUS,
  type RankOptions,
  type RankedHit,
  SUMMARY_BOOST,
  type SearchSource,
  TITLE_BOOST,
  type TitleMemo,
  bestCandidates,
  bestScore,
  compileLoose,
  compileQuery,
  idf,
  isOptional,
  itemSpans,
  leastLengthNorm,
  lengthNorm,
  mergeSpans,
  looseItems,
  priorBound,
  strictCandidates,
  strictScore,
  summaryPassage,
  termMemo,
  termPostings,
  titleMentions,
  wholeQueryAdjacent,
  wordTf,
} from './rank.js';
import { readsAsQuestion } from './best-match.js';
import { biword } from './analyze.js';
import { type Bonus, topEntries } from './top.js';

/** What the top-k ranking needs beyond a {@link SearchSource}: per-passage facts from typed arrays. */
export interface TopSource extends SearchSource {
  /**
   * A number ordering passages as the full ranking breaks score ties: by
   * document id (`localeCompare`), then by start offset.
   */
  orderKey(id: number): number;
  /** The passage's kind (undefined when unknown), without reading the passage. */
  kindOf(id: number): PassageKind | undefined;
  /** The passage's document id ('' when unknown), without reading the passage. */
  docOf(id: number): string;
  /**
   * The passage's document as a small number (-1 when unknown), for counting
   * hits per paper in a typed array instead of by id string for every hit.
   */
  docIndex(id: number): number;
  /** The document id of a {@link docIndex} number ('' when unknown). */
  docAt(index: number): string;
  /** The passage's language (undefined when unknown), without reading the passage. */
  langOf(id: number): Lang | undefined;
  /** The ids of a document's passages (none for an unknown document), for a `doc:` filter to start from. */
  passageIdsOf(docId: string): ArrayLike<number>;
}

/** The first hits of a query, with the counts of all of them. */
export interface TopResult {
  /** The first `k` hits of {@link rank}'s ranking, in its order, with its scores. */
  hits: RankedHit[];
  /**
   * How many passages match (as many as {@link rank} returns), or with
   * `totalRelation` 'gte', at least this many (see {@link EXACT_TOTAL_UP_TO}).
   */
  total: number;
  /** 'eq': `total` and `perDocument` are exact; 'gte': they count the hits known without verifying phrases, a lower bound. */
  totalRelation: 'eq' | 'gte';
  /** Hits per document over all hits (keys in no particular order). */
  perDocument: Record<string, number>;
  matches(p: Passage): MatchSpan[];
  mode: MatchMode;
  strictTotal: number;
}

/**
 * Above this many hits, a strict query's total is reported as "at least N"
 * (as Elasticsearch's `track_total_hits` does), where N counts the hits the
 * tables settle: the candidates that hold a phrase's words but still need
 * its adjacency checked on the stored biword frequencies are then checked
 * only when ranking reaches them. Counting them exactly was most of the time
 * of an expanded query (对口支援 with its English translations as phrases) for
 * a number no researcher reads past "thousands"; below the cap, where it is
 * cheap, every total is exact.
 */
export const EXACT_TOTAL_UP_TO = 10_000;

/**
 * Hits per paper, counted by document number in a typed array: one
 * increment per hit, where a record keyed by the paper's id string cost a
 * property lookup by string for each of tens of thousands of hits.
 */
class PaperCounts {
  private counts = new Int32Array(256);
  /** Hits of passages with no known paper (counted under '', as `docOf` names them). */
  private unknown = 0;

  add(index: number): void {
    if (index < 0) {
      this.unknown++;
      return;
    }
    if (index >= this.counts.length) {
      const grown = new Int32Array(Math.max(index + 1, this.counts.length * 2));
      grown.set(this.counts);
      this.counts = grown;
    }
    this.counts[index]!++;
  }

  /** The counts by document id. */
  record(src: TopSource): Record<string, number> {
    const out: Record<string, number> = {};
    const counts = this.counts;
    for (let i = 0; i < counts.length; i++) {
      if (counts[i] === 0) continue;
      const doc = src.docAt(i);
      out[doc] = (out[doc] ?? 0) + counts[i]!;
    }
    if (this.unknown > 0) out[''] = (out[''] ?? 0) + this.unknown;
    return out;
  }
}

/**
 * A yes/no answer per paper, asked per passage: computed once per paper from
 * its id, then read by the passage's paper number from a typed array, so a
 * candidate pass of tens of thousands of passages looks nothing up by id string.
 */
function perPaper(src: TopSource, answer: (docId: string) => boolean): (id: number) => boolean {
  /** By paper number: 0 not asked yet, 1 no, 2 yes. */
  let known = new Uint8Array(256);
  return (id) => {
    const d = src.docIndex(id);
    if (d < 0) return answer(src.docOf(id));
    if (d >= known.length) known = grow(known, new Uint8Array(Math.max(d + 1, known.length * 2)));
    let c = known[d]!;
    if (c === 0) known[d] = c = answer(src.docAt(d)) ? 2 : 1;
    return c === 2;
  };
}

/** Room for the rounding of the bound's arithmetic, so a bound is never below the score it bounds. */
const SLACK = 1 + 1e-9;

/** What the cheap pass knows of one variant. */
interface VariantFacts {
  set: IdSet;
  /** Weight of an occurrence, as `itemTf` multiplies it: the expansion weight, then the share. */
  via: number;
  share: number;
  /** Word frequency tables of the variant's words, by passage id. */
  tables: Uint16Array[];
  /** The check a candidate of a phrase still needs (see `IdSet.check`). */
  check: ((id: number) => boolean) | undefined;
  /**
   * How the frequency is known: exactly (one word), bounded by its rarest word (two words, or a
   * translation's bag of words), or not at all.
   */
  shape: 'word' | 'pair' | 'run-word' | 'run-pair' | 'bag' | 'unknown';
  chars: number;
}

/** The fields a variant may have for the cheap pass to understand it (a derived form only weighs its share); any other kind is scored exactly. */
const KNOWN = new Set(['terms', 'tokens', 'loose', 'via', 'run', 'chars', 'share', 'derived']);

function factsOf(v: Variant, set: IdSet, tableOf: (term: string) => Uint16Array, src: SearchSource): VariantFacts {
  if (v.bag === true && Object.keys(v).every((k) => KNOWN.has(k) || k === 'bag' || k === 'phrase')) {
    // A translation's words anywhere in the passage (outside strict mode): as often as its rarest
    // word stands beyond the translation's phrase (see wordTf), which only the check can tell; the
    // rarest word's count bounds it from above.
    const via = (v.via ? EXPANSION_WEIGHT : 1) * BAG_WEIGHT;
    const tables = v.terms.map(tableOf);
    const phrase = v.phrase;
    // wordTf(v) > 0 (its rarest word stands more often than the phrase), with the words read from
    // their tables rather than looked up in the passage one by one for every candidate.
    const check = (id: number): boolean => {
      let least = Infinity;
      for (const t of tables) {
        const tf = t[id]!;
        if (tf === 0) return false;
        if (tf < least) least = tf;
      }
      // 0xffff: that many or more, which only the passage can tell.
      if (least === 0xffff) return wordTf(v, id, src) > 0;
      return phrase === undefined || wordTf(phrase, id, src) < least;
    };
    return { set, check, via, share: v.share ?? 1, tables, shape: 'bag', chars: 0 };
  }
  const known = Object.keys(v).every((k) => KNOWN.has(k));
  const n = v.terms.length;
  let shape: VariantFacts['shape'] = 'unknown';
  if (known && n === 1) shape = v.run === undefined ? 'word' : 'run-word';
  else if (known && n === 2) shape = v.run === undefined ? 'pair' : 'run-pair';
  const tables = shape === 'unknown' ? [] : v.terms.map(tableOf);
  return { set, check: set.check, via: v.via ? EXPANSION_WEIGHT : 1, share: v.share ?? 1, tables, shape, chars: v.chars ?? 0 };
}

/** Frequency from a table; 0xffff means "that many or more", which no bound can use. */
const tableTf = (t: Uint16Array, id: number): number => {
  const x = t[id]!;
  return x === 0xffff ? Infinity : x;
};

/**
 * What the tables say of a variant in a passage: an upper bound of its
 * frequency as `itemTf` counts it (exact for one word), where above 0 means
 * the passage certainly matches it; -1 when the tables cannot tell (score
 * the passage exactly).
 */
function variantBound(f: VariantFacts, id: number): number {
  switch (f.shape) {
    case 'word': {
      // Exact: the word's slot in its posting list (0 when the passage holds the string only as a bigram).
      const tf = tableTf(f.tables[0]!, id);
      return tf === Infinity ? -1 : tf;
    }
    case 'pair': {
      // At most as often as its rarer word; at least once when the candidate passes the set's check.
      const tf = Math.min(tableTf(f.tables[0]!, id), tableTf(f.tables[1]!, id));
      return tf === Infinity ? -1 : tf;
    }
    case 'run-word': {
      const tf = tableTf(f.tables[0]!, id);
      if (tf === Infinity) return -1;
      if (tf > 0) return tf;
      // Not the word itself: a two-character run's bigram list is exact and weighs one mid-word occurrence.
      return f.chars === 2 ? MID_WORD_WEIGHT : -1;
    }
    case 'run-pair': {
      if (f.chars !== 2) return -1;
      // The pair as words (at most as often as the rarer), or else one mid-word occurrence.
      const tf = Math.max(Math.min(tableTf(f.tables[0]!, id), tableTf(f.tables[1]!, id)), MID_WORD_WEIGHT);
      return tf === Infinity ? -1 : tf;
    }
    case 'bag': {
      let tf = Infinity;
      for (const t of f.tables) tf = Math.min(tf, tableTf(t, id));
      return tf === Infinity ? -1 : tf;
    }
    default:
      return -1;
  }
}

/**
 * Whether a candidate of the variant certainly holds it when {@link variantBound}
 * cannot bound its frequency: a word listed 0xffff times or more, or a
 * single Chinese character (its candidates hold a bigram with it).
 */
function presentUnbounded(f: VariantFacts, id: number): boolean {
  return f.shape === 'word' || (f.shape === 'run-word' && (f.chars === 1 || f.tables[0]![id] === 0xffff));
}

/** A clause's items' facts, and whether a hit may lack it (see `isOptional` in rank.ts). */
type ClauseFacts = ItemFacts[] & { optional?: boolean };

/** An item's variants' facts, and its idf. */
interface ItemFacts {
  variants: VariantFacts[];
  idf: number;
}

/** {@link strictBound}: the candidate is certainly not a hit. */
const NO_HIT = -1;

/**
 * Of one candidate: an upper bound of its {@link strictScore} when the tables
 * show it is a hit; {@link NO_HIT} when they show it is not; Infinity when
 * they cannot tell (score it exactly).
 */
function strictBound(
  id: number,
  clauses: ClauseFacts[],
  excluded: ItemFacts[],
  ctx: Context,
  src: TopSource,
  titleOf: (id: number) => boolean,
  defer?: { pending: boolean },
): number {
  const norm = lengthNorm(id, ctx);
  let score = 0;
  let unsure = false;
  for (const clause of clauses) {
    let clauseScore = 0;
    let sure = false;
    for (const item of clause) {
      let tf = 0;
      for (const f of item.variants) {
        if (!f.set.has(id)) continue;
        const b = variantBound(f, id);
        if (b < 0) {
          unsure = true;
          continue;
        }
        if (b > 0 && f.check === undefined) sure = true;
        // In the order itemTf adds it, so an exact frequency gives exactly its score.
        tf += b * f.via * f.share;
      }
      if (tf > 0) clauseScore += (item.idf * (tf * (K1 + 1))) / (tf + norm);
    }
    // Phrases still to be checked make the clause certain only if one passes (checked only when
    // needed, and left to the ranking when the caller defers it: a hit, if a check passes).
    if (!sure && !unsure) {
      if (defer === undefined) sure = passesCheck(clause, id);
      else if (awaitsCheck(clause, id)) sure = defer.pending = true;
    }
    // A clause a hit may lack (a stop word) only adds its bound where it may be there.
    if (!sure && !unsure && clause.optional !== true) return NO_HIT;
    score += clauseScore;
  }
  for (const item of excluded) {
    for (const f of item.variants) {
      if (!f.set.has(id)) continue;
      const b = variantBound(f, id);
      if (b < 0) unsure = true;
      else if (b > 0 && (f.check === undefined || f.check(id))) return NO_HIT;
    }
  }
  const kind = src.kindOf(id);
  if (unsure || kind === undefined) return Infinity;
  score *= priorBound(kind, id, src);
  if (clauses.length > 0 && titleOf(id)) score *= TITLE_BOOST;
  return score * SLACK;
}

/**
 * How the last {@link rankTop} call went, for tests and profiles: which
 * step 1 it took, how many candidates it looked at, and how many of its hits
 * it kept for ranking (the rest could not reach the first k).
 */
export const lastTopPass = { pass: 'general' as 'general' | 'plain' | 'one-word' | 'item', looked: 0, hits: 0, kept: 0 };

/**
 * The first `k` hits of {@link rank}'s ranking, and the counts of all hits,
 * scoring only the candidates that can still reach the first `k`.
 */
export function rankTop(q: ParsedQuery, src: TopSource, opts: RankOptions, k: number): TopResult {
  const cq = compileQuery(q, src, opts);
  const { pool, clauses, ctx } = cq;
  const titles: TitleMemo = new Map();
  const titleOf = (docId: string): boolean => {
    const known = titles.get(docId);
    if (known !== undefined) return known;
    const t = titleMentions(src.titleTokens(docId), clauses);
    titles.set(docId, t);
    return t;
  };
  const titleOfPassage = perPaper(src, titleOf);
  // A one-word variant's candidate set already holds its word's frequency table (see `candidates` in
  // rank.ts): the same table the bounds read, so it is not built a second time from the posting list.
  const tableCache = new Map<string, Uint16Array>();
  for (const [v, set] of pool) if (v.terms.length === 1 && set.frequencies !== undefined) tableCache.set(v.terms[0]!, set.frequencies);
  const memo = termMemo(pool);
  const tableOf = (term: string): Uint16Array => {
    let t = tableCache.get(term);
    if (!t) tableCache.set(term, (t = termPostings(memo, src.index, term).frequencies));
    return t;
  };
  const facts = (ci: CompiledItem): ItemFacts => ({
    variants: ci.variants.map((v) => factsOf(v, pool.get(v)!, tableOf, src)),
    idf: idf(ci.df, ctx.n),
  });
  const clauseFacts = clauses.map((c): ClauseFacts => Object.assign(c.map(facts), { optional: isOptional(c) }));
  const excludedFacts = ctx.excluded.map(facts);

  // 1. Every candidate: settled by the tables (a bound) or scored exactly (its score).
  const cands = docFirst(q, strictCandidates(clauses, ctx), src);
  let ids = new Int32Array(cands instanceof IdSet ? cands.size : cands instanceof Int32Array ? cands.length : src.index.size);
  let bounds = new Float64Array(ids.length);
  /** 1 where the bound is the exact score. */
  let exact = new Uint8Array(ids.length);
  const papers = new PaperCounts();
  let n = 0;
  const accept = typedAccept(q, opts, src);
  // Outside strict mode the full ranking boosts summaries among its first hits, unless it tried best match.
  let summaries = (opts.match ?? 'auto') !== 'strict';
  // Once the cap's worth of hits is counted, candidates that are hits only if a phrase check passes
  // are left to the ranking to check (see EXACT_TOTAL_UP_TO), and the total is a lower bound.
  // Never below BONUS_ALL_BELOW: whether every hit is checked for the phrase bonus depends on the exact count up to there.
  // Nor for a question, which best match ranks: its answer reports the strict count as `strictTotal`,
  // exact, with no relation to say otherwise.
  const cap = summaries && readsAsQuestion(q) ? Infinity : Math.max(opts.exactTotalUpTo ?? EXACT_TOTAL_UP_TO, BONUS_ALL_BELOW + 1);
  const plain = plainQuery(clauseFacts, excludedFacts);
  if (plain !== null && cands instanceof Int32Array) {
    const r = plainPass(cands, plain, accept, {
      clauses,
      ctx,
      src,
      titles,
      want: clauses.length <= 1 ? k : Math.max(k, BONUS_TOP),
      reach: clauses.length <= 1 && summaries ? SUMMARY_BOOST : 1,
      mayPrune: (hits) => clauses.length <= 1 || hits > BONUS_ALL_BELOW,
      titleOf: titleOfPassage,
      cap,
    });
    Object.assign(lastTopPass, { pass: r.pass, looked: cands.length, hits: r.hits, kept: r.n });
    return finish(r.ids, r.bounds, r.exact, r.n, r.hits, r.pendingN, r.papers);
  }
  const defer = { pending: false };
  let pendingN = 0;
  for (const id of cands) {
    if (accept !== null && !accept(id)) continue;
    defer.pending = false;
    let bound =
      clauses.length === 0
        ? Infinity
        : strictBound(id, clauseFacts, excludedFacts, ctx, src, titleOfPassage, n - pendingN >= cap ? defer : undefined);
    if (bound === NO_HIT) continue;
    let isExact = 0;
    if (bound === Infinity) {
      const s = strictScore(id, clauses, ctx, titles);
      if (s === null) continue;
      bound = s.score;
      isExact = 1;
      defer.pending = false;
    }
    if (n === ids.length) {
      // Only a filter-only query over a growing corpus can outgrow the first guess.
      ids = grow(ids, new Int32Array(n * 2 + 16));
      bounds = grow(bounds, new Float64Array(ids.length));
      exact = grow(exact, new Uint8Array(ids.length));
    }
    ids[n] = id;
    bounds[n] = bound;
    exact[n] = isExact;
    if (defer.pending) pendingN++;
    else papers.add(src.docIndex(id));
    n++;
  }
  Object.assign(lastTopPass, { pass: 'general', looked: cands instanceof Int32Array ? cands.length : n, hits: n, kept: n });
  return finish(ids, bounds, exact, n, n, pendingN, papers);

  /**
   * Steps 2 and 3 over the `n` entries kept of step 1, where `hits` counts every hit and pending
   * candidate (entries left out are hits that cannot reach the first k, counted in `papers`).
   */
  function finish(
    ids: Int32Array,
    bounds: Float64Array,
    exact: Uint8Array,
    n: number,
    hits: number,
    pendingN: number,
    papers: PaperCounts,
  ): TopResult {
    const total = hits - pendingN;
    const perDocument = papers.record(src);
    const totalRelation: TopResult['totalRelation'] = pendingN > 0 ? 'gte' : 'eq';

    if (summaries && (hits < BEST_MATCH_BELOW || readsAsQuestion(q))) {
      const loose = compileLoose(q, cq);
      const best = loose === null ? null : bestTop(loose, ctx, src, k, accept, facts);
      // Every strict hit holds the words too, so no best hit means the strict result stands (unboosted).
      if (best !== null) return { ...best, strictTotal: hits, totalRelation: 'eq' };
      summaries = false;
    }

    const score = (i: number): number => {
      if (exact[i] === 0) {
        bounds[i] = strictScore(ids[i]!, clauses, ctx, titles)?.score ?? -Infinity;
        exact[i] = 1;
      }
      return bounds[i]!;
    };
    const keyOf = (i: number): number => src.orderKey(ids[i]!);
    const wholePhrase = wholeQueryHolds(clauses, src);
    // Then the summary boost among the first BONUS_TOP hits (`boostSummaries`): that needs the
    // ranking's first max(k, BONUS_TOP) hits, or, without the phrase bonus, those that the boost could
    // lift into the first k.
    const upTo = summaries ? Math.max(k, BONUS_TOP) : k;
    let top: { index: number[]; score: number[] };
    if (clauses.length <= 1) {
      // No phrase bonus: the ranking is the score order.
      const first = firstByScore(bounds, n, k, score, keyOf, summaries ? SUMMARY_BOOST : 1, BONUS_TOP);
      top = { index: first, score: first.map((i) => bounds[i]!) };
    } else if (hits > BONUS_ALL_BELOW) {
      // The first max(k, checked) by score before the bonus, exactly, then the bonus as the full ranking applies it.
      const first = firstByScore(bounds, n, Math.max(k, BONUS_TOP), score, keyOf, 1);
      const pre = Float64Array.from(first, (i) => bounds[i]!);
      const keys = Float64Array.from(first, keyOf);
      const bonus: Bonus = {
        holds: (j) => wholePhrase(ids[first[j]!]!),
        factor: PHRASE_BONUS,
        allBelow: 0,
        top: BONUS_TOP,
      };
      const picked = topEntries(pre, keys, first.length, upTo, bonus);
      top = { index: picked.index.map((j) => first[j]!), score: picked.score };
    } else {
      // A small result checks every hit for the bonus: score them all, then take the first k.
      for (let i = 0; i < n; i++) score(i);
      const keys = new Float64Array(n);
      for (let i = 0; i < n; i++) keys[i] = keyOf(i);
      top = topEntries(bounds, keys, n, upTo, {
        holds: (i) => wholePhrase(ids[i]!),
        factor: PHRASE_BONUS,
        allBelow: BONUS_ALL_BELOW,
        top: BONUS_TOP,
      });
    }
    if (summaries) {
      // `top` is the ranking's beginning, in its order: boost the summaries among its first BONUS_TOP.
      const at = top.index;
      const picked = topEntries(Float64Array.from(top.score), Float64Array.from(at, keyOf), at.length, k, {
        holds: (j) => summaryPassage(src.passage(ids[at[j]!]!)!, src),
        factor: SUMMARY_BOOST,
        allBelow: 0,
        top: BONUS_TOP,
      });
      top = { index: picked.index.map((j) => at[j]!), score: picked.score };
    }
    const page = top.index.map((i, j) => ({ passage: src.passage(ids[i]!)!, score: top.score[j]! }));
    const matches = (p: Passage): MatchSpan[] => mergeSpans(clauses.flat().flatMap((ci) => itemSpans(ci, p, src, pool)));
    return { hits: page, total, totalRelation, perDocument, matches, mode: 'strict', strictTotal: total };
  }
}

/**
 * The candidates to look at: with a `doc:` filter, only the named papers'
 * passages among them (ascending), rather than every candidate checked
 * against the filter one by one (`doc:… support` looked at all 48k passages
 * holding `support` at 100 MB to keep 49); otherwise the candidates' ids.
 */
function docFirst(q: ParsedQuery, cands: Iterable<number>, src: TopSource): Int32Array | Iterable<number> {
  const docs = q.filters.docs;
  if (docs.length === 0) return cands instanceof IdSet ? cands.ids : cands;
  const out: number[] = [];
  for (const doc of new Set(docs)) {
    const own = src.passageIdsOf(doc);
    for (let i = 0; i < own.length; i++) if (!(cands instanceof IdSet) || cands.has(own[i]!)) out.push(own[i]!);
  }
  return Int32Array.from(out).sort();
}

/** {@link PlainVariant}'s kinds: the shapes of {@link VariantFacts} the plain pass reads. */
const WORD = 0;
const RUN_WORD = 1;
const PAIR = 2;
const RUN_PAIR = 3;

/**
 * A variant {@link plainPass} reads: its words' frequency tables, the weight
 * of an occurrence, what a candidate listed with frequency 0 holds (`zero`:
 * 0 nothing, 1 one mid-word occurrence of a two-character run, 2 unknown: a
 * longer run, to be found in the text), and a phrase's check.
 */
interface PlainVariant {
  kind: typeof WORD | typeof RUN_WORD | typeof PAIR | typeof RUN_PAIR;
  table: Uint16Array;
  /** The second word's table (a pair), else the first's. */
  table2: Uint16Array;
  w: number;
  set: IdSet;
  run: boolean;
  zero: 0 | 1 | 2;
  check: ((id: number) => boolean) | undefined;
}

/** A query {@link plainPass} can settle: every variant one or two words (or a Chinese run of them). */
interface PlainQuery {
  clauses: Array<{ items: Array<{ idf: number; variants: PlainVariant[] }>; checks: PlainVariant[] }>;
  excluded: PlainVariant[];
}

/**
 * The query as {@link plainPass} reads it, or null when a variant needs more
 * than frequency tables (a longer phrase, a bag, a grep form) or a clause is
 * optional.
 */
function plainQuery(clauses: ClauseFacts[], excluded: ItemFacts[]): PlainQuery | null {
  if (clauses.length === 0 || clauses.some((c) => c.optional === true)) return null;
  const variant = (f: VariantFacts): PlainVariant | null => {
    const kind =
      f.shape === 'word' ? WORD : f.shape === 'run-word' ? RUN_WORD : f.shape === 'pair' ? PAIR : f.shape === 'run-pair' ? RUN_PAIR : -1;
    if (kind < 0 || f.tables.length !== (kind === PAIR || kind === RUN_PAIR ? 2 : 1)) return null;
    // Only a phrase of two words is checked (its biword); the one-word shapes are exact as listed.
    if (f.check !== undefined && kind !== PAIR) return null;
    const run = kind === RUN_WORD || kind === RUN_PAIR;
    return {
      kind: kind as PlainVariant['kind'],
      table: f.tables[0]!,
      table2: f.tables[f.tables.length - 1]!,
      w: f.via * f.share,
      set: f.set,
      run,
      zero: !run ? 0 : f.chars === 2 ? 1 : 2,
      check: f.check,
    };
  };
  const out: PlainQuery = { clauses: [], excluded: [] };
  for (const clause of clauses) {
    const items: PlainQuery['clauses'][number]['items'] = [];
    const checks: PlainVariant[] = [];
    for (const item of clause) {
      const variants: PlainVariant[] = [];
      for (const f of item.variants) {
        const v = variant(f);
        if (v === null) return null;
        variants.push(v);
        if (v.check !== undefined) checks.push(v);
      }
      items.push({ idf: item.idf, variants });
    }
    out.clauses.push({ items, checks });
  }
  for (const item of excluded) {
    for (const f of item.variants) {
      const v = variant(f);
      if (v === null) return null;
      out.excluded.push(v);
    }
  }
  return out;
}

/** A table's frequency, Infinity for "0xffff or more". */
const tfOf = (t: Uint16Array, id: number): number => {
  const x = t[id]!;
  return x === 0xffff ? Infinity : x;
};

/**
 * {@link variantBound} of a plain variant, membership included: 0 when the
 * candidate does not hold it, -1 when the tables cannot tell.
 */
function plainBound(v: PlainVariant, id: number): number {
  switch (v.kind) {
    case WORD: {
      // The table is the word's posting list: listed (and so in the set) where above 0.
      const t = v.table[id]!;
      return t === 0xffff ? -1 : t;
    }
    case RUN_WORD: {
      if (!v.set.has(id)) return 0;
      const t = v.table[id]!;
      if (t === 0xffff) return -1;
      if (t > 0) return t;
      return v.zero === 1 ? MID_WORD_WEIGHT : -1;
    }
    case PAIR: {
      if (!v.set.has(id)) return 0;
      const t = Math.min(tfOf(v.table, id), tfOf(v.table2, id));
      return t === Infinity ? -1 : t;
    }
    default: {
      if (!v.set.has(id)) return 0;
      if (v.zero !== 1) return -1;
      const t = Math.max(Math.min(tfOf(v.table, id), tfOf(v.table2, id)), MID_WORD_WEIGHT);
      return t === Infinity ? -1 : t;
    }
  }
}

/** Step 1's entries to rank (`n` of them), and the count of every hit. */
interface PlainResult {
  pass: 'plain' | 'one-word' | 'item';
  ids: Int32Array;
  bounds: Float64Array;
  exact: Uint8Array;
  n: number;
  /** Every hit, and the candidates that are hits if a phrase check passes (`pendingN` of them, not counted per paper). */
  hits: number;
  pendingN: number;
  papers: PaperCounts;
}

/** What {@link plainPass} needs of the query besides its tables. */
interface PlainPassOptions {
  clauses: CompiledItem[][];
  ctx: Context;
  src: TopSource;
  titles: TitleMemo;
  /** How many of the first hits the ranking then needs by score ({@link firstByScore}'s `want`). */
  want: number;
  /** The most a boost after scoring may lift a score by ({@link firstByScore}'s `reach`). */
  reach: number;
  /** Whether, with this many hits, entries that cannot reach the first `want` may be left out. */
  mayPrune: (hits: number) => boolean;
  /** Whether the passage's paper's title holds the query (the title boost). */
  titleOf: (id: number) => boolean;
  /** Hits counted exactly before phrase checks are left to the ranking (see {@link EXACT_TOTAL_UP_TO}). */
  cap: number;
}

/**
 * Step 1 for a query of plain words ({@link plainQuery}): every candidate is
 * settled from the frequency tables alone — hit or not, counted per paper,
 * and bounded as {@link strictBound} bounds it — in one loop over typed
 * arrays, without strictBound's general cases. Candidates the tables cannot
 * settle (a longer Chinese run found only inside longer words) are scored
 * exactly, as in {@link rankTop}.
 *
 * Then the `want` entries of highest bound are scored exactly: the want-th
 * best of those scores is at most the ranking's want-th best, so every
 * entry whose bound (times `reach`) is below it cannot enter the first
 * `want` and is left out — counted, but never put in the ranking's heap. A
 * frequent word's expansion keeps a few hundred of its tens of thousands of
 * hits. A query of one word takes {@link oneWordPass} instead.
 */
function plainPass(cands: Int32Array, pq: PlainQuery, accept: ((id: number) => boolean) | null, o: PlainPassOptions): PlainResult {
  const { ctx, src } = o;
  const first = pq.clauses[0]!.items;
  const only = pq.clauses.length === 1 && first.length === 1 && first[0]!.variants.length === 1 ? first[0]! : null;
  if (only !== null && only.variants[0]!.kind <= RUN_WORD && pq.excluded.length === 0)
    return oneWordPass(cands, only.variants[0]!, only.idf, accept, o);
  if (pq.clauses.length === 1 && first.length === 1) return itemPass(cands, pq, accept, o);
  const ids = new Int32Array(cands.length);
  const bounds = new Float64Array(cands.length);
  const exact = new Uint8Array(cands.length);
  const papers = new PaperCounts();
  const clauses = pq.clauses;
  const excluded = pq.excluded;
  const cap = o.cap;
  let n = 0;
  let pendingN = 0;
  for (let c = 0; c < cands.length; c++) {
    const id = cands[c]!;
    if (accept !== null && !accept(id)) continue;
    // Past the cap, a hit that only a phrase check can confirm is left to the ranking (see EXACT_TOTAL_UP_TO).
    const deferring = n - pendingN >= cap;
    let pending = false;
    const norm = lengthNorm(id, ctx);
    let score = 0;
    let unknown = false;
    let hit = true;
    for (let i = 0; i < clauses.length && hit; i++) {
      const { items, checks } = clauses[i]!;
      let clauseScore = 0;
      let sure = false;
      for (let j = 0; j < items.length; j++) {
        const item = items[j]!;
        let tf = 0;
        for (let u = 0; u < item.variants.length; u++) {
          const v = item.variants[u]!;
          const b = plainBound(v, id);
          if (b < 0) {
            unknown = true;
            continue;
          }
          if (b > 0 && v.check === undefined) sure = true;
          tf += b * v.w;
        }
        if (tf > 0) clauseScore += (item.idf * (tf * (K1 + 1))) / (tf + norm);
      }
      if (!sure && !unknown) {
        // As strictBound: a phrase to check makes the clause certain only if it passes (or, deferred, if it may).
        for (let u = 0; u < checks.length && !sure; u++) {
          const v = checks[u]!;
          if (!v.set.has(id)) continue;
          if (deferring) sure = pending = true;
          else sure = v.check!(id);
        }
        if (!sure) hit = false;
      }
      score += clauseScore;
    }
    if (!hit) continue;
    for (let u = 0; u < excluded.length; u++) {
      const v = excluded[u]!;
      const b = plainBound(v, id);
      if (b < 0) unknown = true;
      else if (b > 0 && (v.check === undefined || v.check(id))) {
        hit = false;
        break;
      }
    }
    if (!hit) continue;
    let isExact = 0;
    const kind = src.kindOf(id);
    if (unknown || kind === undefined) {
      const s = strictScore(id, o.clauses, ctx, o.titles);
      if (s === null) continue;
      score = s.score;
      isExact = 1;
      pending = false;
    } else {
      // As strictBound bounds it.
      score *= priorBound(kind, id, src);
      if (o.titleOf(id)) score *= TITLE_BOOST;
      score *= SLACK;
    }
    ids[n] = id;
    bounds[n] = score;
    exact[n] = isExact;
    if (pending) pendingN++;
    else papers.add(src.docIndex(id));
    n++;
  }
  const hits = n;
  const want = o.want;
  if (n <= want || !o.mayPrune(n)) return { pass: 'plain', ids, bounds, exact, n, hits, pendingN, papers };
  // The `want` entries of highest bound, scored exactly: the want-th best score among them is a floor of the ranking's.
  const floorScore = wantth(ids, bounds, exact, n, want, o);
  let kept = 0;
  const reach = o.reach;
  for (let i = 0; i < n; i++) {
    if (exact[i] === 0 && bounds[i]! * reach < floorScore) continue;
    ids[kept] = ids[i]!;
    bounds[kept] = bounds[i]!;
    exact[kept] = exact[i]!;
    kept++;
  }
  return { pass: 'plain', ids, bounds, exact, n: kept, hits, pendingN, papers };
}

/** The largest kind prior: a bound of any passage's. */
const MOST_PRIOR = Math.max(...Object.values(KIND_PRIOR));

/** {@link oneWordPass}'s groups of hits by frequency: 1…31 as such, 32 for more, 0 for a mid-word occurrence. */
const GROUPS = 33;

/**
 * {@link plainPass} for a query of one word (or one Chinese run), taken
 * impact first. Every candidate is only counted (hit or not, per paper) and
 * put in the group of its frequency in one cheap pass; then groups are
 * bounded and kept from the most frequent down, and once the want-th best
 * exact score so far is above what any passage of the next group can score
 * (its frequency at the shortest length, the largest prior and the title
 * boost), no later group is looked at again. A frequent word's tens of
 * thousands of hits mostly stand once or twice in a passage and are never
 * bounded one by one.
 */
function oneWordPass(
  cands: Int32Array,
  v: PlainVariant,
  idf: number,
  accept: ((id: number) => boolean) | null,
  o: PlainPassOptions,
): PlainResult {
  const { ctx, src } = o;
  const papers = new PaperCounts();
  const table = v.table;
  const set = v.set;
  // Counted hits by group, then (once the groups' starts are known) their ids in group order.
  const group = new Uint8Array(cands.length);
  const hitIds = new Int32Array(cands.length);
  const sizes = new Int32Array(GROUPS);
  let h = 0;
  // Hits the tables cannot settle, scored exactly now (as rankTop does).
  const exactIds: number[] = [];
  const exactScores: number[] = [];
  for (let c = 0; c < cands.length; c++) {
    const id = cands[c]!;
    if (accept !== null && !accept(id)) continue;
    const t = table[id]!;
    let g: number;
    if (t === 0) {
      if (v.zero === 0 || !set.has(id)) continue;
      g = v.zero === 1 ? 0 : -1;
    } else {
      if (v.run && !set.has(id)) continue;
      g = t === 0xffff ? -1 : t < GROUPS - 1 ? t : GROUPS - 1;
    }
    if (g < 0 || src.kindOf(id) === undefined) {
      const s = strictScore(id, o.clauses, ctx, o.titles);
      if (s === null) continue;
      exactIds.push(id);
      exactScores.push(s.score);
    } else {
      hitIds[h] = id;
      group[h++] = g;
      sizes[g]!++;
    }
    papers.add(src.docIndex(id));
  }
  const hits = h + exactIds.length;
  // Hits in descending group order (a counting sort).
  const starts = new Int32Array(GROUPS + 1);
  for (let g = GROUPS - 1; g >= 0; g--) starts[g] = starts[g + 1]! + sizes[g]!;
  // starts[g] is now where group g ends (counting from the most frequent); make it where it begins.
  for (let g = 0; g < GROUPS; g++) starts[g] = starts[g]! - sizes[g]!;
  const byGroup = new Int32Array(h);
  const fill = starts.slice();
  for (let i = 0; i < h; i++) byGroup[fill[group[i]!]!++] = hitIds[i]!;

  const ids = new Int32Array(hits);
  const bounds = new Float64Array(hits);
  const exact = new Uint8Array(hits);
  let n = 0;
  for (let i = 0; i < exactIds.length; i++) {
    ids[n] = exactIds[i]!;
    bounds[n] = exactScores[i]!;
    exact[n++] = 1;
  }
  const prune = o.mayPrune(hits);
  const reach = o.reach;
  const want = o.want;
  const least = leastLengthNorm();
  /** The want-th best exact score known (-Infinity until want are known). */
  let floorScore = -Infinity;
  const w = v.w;
  for (let g = GROUPS - 1; g >= 0; g--) {
    if (sizes[g] === 0) continue;
    if (prune && floorScore > -Infinity) {
      // The most a passage of this group can score (the open-ended group: BM25's limit).
      const tf = g === 0 ? MID_WORD_WEIGHT * w : g === GROUPS - 1 ? Infinity : g * w;
      const most = (tf === Infinity ? idf * (K1 + 1) : (idf * (tf * (K1 + 1))) / (tf + least)) * MOST_PRIOR * TITLE_BOOST * SLACK * SLACK;
      if (most * reach < floorScore) break;
    }
    for (let i = starts[g]!, end = starts[g]! + sizes[g]!; i < end; i++) {
      const id = byGroup[i]!;
      const t = g === 0 ? MID_WORD_WEIGHT : table[id]!;
      const tf = t * w;
      const norm = lengthNorm(id, ctx);
      // As strictBound bounds it.
      let score = (idf * (tf * (K1 + 1))) / (tf + norm);
      score *= priorBound(src.kindOf(id)!, id, src);
      if (o.titleOf(id)) score *= TITLE_BOOST;
      score *= SLACK;
      if (prune && score * reach < floorScore) continue;
      ids[n] = id;
      bounds[n] = score;
      exact[n++] = 0;
    }
    if (prune && n >= want) floorScore = wantth(ids, bounds, exact, n, want, o);
  }
  return { pass: 'one-word', ids, bounds, exact, n, hits, pendingN: 0, papers };
}

/** {@link itemPass}'s flags per candidate: a variant settles it, cannot be read from the tables, or is a phrase still to check. */
const SURE = 1;
const UNKNOWN = 2;
const CHECK = 4;

/** {@link itemPass}'s groups of hits by their item's frequency bound, in quarters (the last open-ended). */
const ITEM_GROUPS = 256;

/** Scratch by passage id for {@link itemPass}, kept between queries and cleared after each. */
let itemTf = new Float64Array(0);
let itemFlags = new Uint8Array(0);

/**
 * {@link plainPass} for a query of one item with several variants (a word
 * and its translations, a phrase): each variant's frequency is added into
 * a scratch array by passage id, list by list, rather than each candidate
 * asking every variant's set; then, as {@link oneWordPass} does, every
 * candidate is only counted and grouped by its item's frequency, and groups
 * are bounded from the most frequent down until the want-th best exact
 * score beats what the next group can score. Phrase checks and their
 * deferral past the cap are as in {@link plainPass}, in the same order.
 */
function itemPass(cands: Int32Array, pq: PlainQuery, accept: ((id: number) => boolean) | null, o: PlainPassOptions): PlainResult {
  const { items, checks } = pq.clauses[0]!;
  const item = items[0]!;
  const excluded = pq.excluded;
  let limit = 0;
  for (const v of item.variants) if (v.set.size > 0) limit = Math.max(limit, v.set.ids[v.set.size - 1]! + 1);
  if (itemTf.length < limit) {
    itemTf = new Float64Array(limit);
    itemFlags = new Uint8Array(limit);
  }
  const tfs = itemTf;
  const flags = itemFlags;
  try {
    for (const v of item.variants) {
      const ids = v.set.ids;
      const check = v.check === undefined ? 0 : CHECK;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        // plainBound, for a member.
        const b = plainBound(v, id);
        if (b < 0) {
          flags[id] = flags[id]! | UNKNOWN | check;
          continue;
        }
        flags[id] = flags[id]! | (b > 0 && check === 0 ? SURE : 0) | check;
        tfs[id] = tfs[id]! + b * v.w;
      }
    }
    return itemGroups(cands, tfs, flags, item.idf, checks, excluded, accept, o);
  } finally {
    for (const v of item.variants) {
      const ids = v.set.ids;
      for (let i = 0; i < ids.length; i++) {
        tfs[ids[i]!] = 0;
        flags[ids[i]!] = 0;
      }
    }
  }
}

/** {@link itemPass}'s counting and grouping, over the item's frequencies and flags by passage id. */
function itemGroups(
  cands: Int32Array,
  tfs: Float64Array,
  flags: Uint8Array,
  idf: number,
  checks: PlainVariant[],
  excluded: PlainVariant[],
  accept: ((id: number) => boolean) | null,
  o: PlainPassOptions,
): PlainResult {
  const { ctx, src } = o;
  const papers = new PaperCounts();
  const group = new Uint8Array(cands.length);
  const hitIds = new Int32Array(cands.length);
  const sizes = new Int32Array(ITEM_GROUPS);
  let h = 0;
  const exactIds: number[] = [];
  const exactScores: number[] = [];
  /** Hits and pending candidates so far (as plainPass counts its entries), and the pending ones. */
  let count = 0;
  let pendingN = 0;
  for (let c = 0; c < cands.length; c++) {
    const id = cands[c]!;
    if (accept !== null && !accept(id)) continue;
    const deferring = count - pendingN >= o.cap;
    const f = flags[id]!;
    let unknown = (f & UNKNOWN) !== 0;
    let pending = false;
    if ((f & SURE) === 0 && !unknown) {
      let sure = false;
      if ((f & CHECK) !== 0) {
        for (let u = 0; u < checks.length && !sure; u++) {
          const v = checks[u]!;
          if (!v.set.has(id)) continue;
          if (deferring) sure = pending = true;
          else sure = v.check!(id);
        }
      }
      if (!sure) continue;
    }
    let hit = true;
    for (let u = 0; u < excluded.length; u++) {
      const v = excluded[u]!;
      const b = plainBound(v, id);
      if (b < 0) unknown = true;
      else if (b > 0 && (v.check === undefined || v.check(id))) {
        hit = false;
        break;
      }
    }
    if (!hit) continue;
    if (unknown || src.kindOf(id) === undefined) {
      const s = strictScore(id, o.clauses, ctx, o.titles);
      if (s === null) continue;
      exactIds.push(id);
      exactScores.push(s.score);
      pending = false;
    } else {
      const g = Math.min(Math.floor(tfs[id]! * 4), ITEM_GROUPS - 1);
      hitIds[h] = id;
      group[h++] = g;
      sizes[g]!++;
    }
    count++;
    if (pending) pendingN++;
    else papers.add(src.docIndex(id));
  }
  // Hits in descending group order (a counting sort), as in oneWordPass.
  const starts = new Int32Array(ITEM_GROUPS + 1);
  for (let g = ITEM_GROUPS - 1; g >= 0; g--) starts[g] = starts[g + 1]! + sizes[g]!;
  for (let g = 0; g < ITEM_GROUPS; g++) starts[g] = starts[g]! - sizes[g]!;
  const byGroup = new Int32Array(h);
  const fill = starts.slice();
  for (let i = 0; i < h; i++) byGroup[fill[group[i]!]!++] = hitIds[i]!;

  const ids = new Int32Array(count);
  const bounds = new Float64Array(count);
  const exact = new Uint8Array(count);
  let n = 0;
  for (let i = 0; i < exactIds.length; i++) {
    ids[n] = exactIds[i]!;
    bounds[n] = exactScores[i]!;
    exact[n++] = 1;
  }
  const prune = o.mayPrune(count);
  const reach = o.reach;
  const want = o.want;
  const least = leastLengthNorm();
  let floorScore = -Infinity;
  for (let g = ITEM_GROUPS - 1; g >= 0; g--) {
    if (sizes[g] === 0) continue;
    if (prune && floorScore > -Infinity) {
      // The most a passage of this group can score: its frequency below (g + 1) / 4 (the last group: BM25's limit).
      const tf = g === ITEM_GROUPS - 1 ? Infinity : (g + 1) / 4;
      const most = (tf === Infinity ? idf * (K1 + 1) : (idf * (tf * (K1 + 1))) / (tf + least)) * MOST_PRIOR * TITLE_BOOST * SLACK * SLACK;
      if (most * reach < floorScore) break;
    }
    for (let i = starts[g]!, end = starts[g]! + sizes[g]!; i < end; i++) {
      const id = byGroup[i]!;
      const tf = tfs[id]!;
      const norm = lengthNorm(id, ctx);
      // As strictBound bounds it.
      let score = tf > 0 ? (idf * (tf * (K1 + 1))) / (tf + norm) : 0;
      score *= priorBound(src.kindOf(id)!, id, src);
      if (o.titleOf(id)) score *= TITLE_BOOST;
      score *= SLACK;
      if (prune && score * reach < floorScore) continue;
      ids[n] = id;
      bounds[n] = score;
      exact[n++] = 0;
    }
    if (prune && n >= want) floorScore = wantth(ids, bounds, exact, n, want, o);
  }
  return { pass: 'item', ids, bounds, exact, n, hits: count, pendingN, papers };
}

/**
 * The want-th best exact score among the `want` entries of highest bound
 * (scoring those not yet scored): at most the ranking's want-th best score.
 * -Infinity when fewer than `want` of them are hits.
 */
function wantth(ids: Int32Array, bounds: Float64Array, exact: Uint8Array, n: number, want: number, o: PlainPassOptions): number {
  const best = highest(bounds, n, want);
  const scores = new Float64Array(best.length);
  let m = 0;
  for (const i of best) {
    if (exact[i] === 0) {
      bounds[i] = strictScore(ids[i]!, o.clauses, o.ctx, o.titles)?.score ?? -Infinity;
      exact[i] = 1;
    }
    if (bounds[i]! !== -Infinity) scores[m++] = bounds[i]!;
  }
  return m < want ? -Infinity : scores.subarray(0, m).sort()[m - want]!;
}

/** The indices of the `want` largest of `values[0..n)` (ties in any order). */
function highest(values: Float64Array, n: number, want: number): number[] {
  // A min-heap of `want` indices by value: most entries are below its root and cost one comparison.
  const heap = new Int32Array(want);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (size < want) {
      let at = size++;
      while (at > 0 && values[heap[(at - 1) >> 1]!]! > v) {
        heap[at] = heap[(at - 1) >> 1]!;
        at = (at - 1) >> 1;
      }
      heap[at] = i;
      continue;
    }
    if (!(v > values[heap[0]!]!)) continue;
    let at = 0;
    for (;;) {
      const l = 2 * at + 1;
      if (l >= size) break;
      const c = l + 1 < size && values[heap[l + 1]!]! < values[heap[l]!]! ? l + 1 : l;
      if (!(values[heap[c]!]! < v)) break;
      heap[at] = heap[c]!;
      at = c;
    }
    heap[at] = i;
  }
  return Array.from(heap.subarray(0, size));
}

/**
 * Best match's first `k` hits and the counts of all of them, or null when it
 * finds nothing (see {@link rankTop}).
 */
function bestTop(
  loose: CompiledLoose,
  ctx: Context,
  src: TopSource,
  k: number,
  accept: ((id: number) => boolean) | null,
  facts: (ci: CompiledItem) => ItemFacts,
): Omit<TopResult, 'strictTotal' | 'totalRelation'> | null {
  const lf: LooseFacts = {
    required: loose.required.map((c) => c.map(facts)),
    words: loose.words.map(facts),
    groups: loose.groups.map((g) => ({ item: facts(g.ci), covers: g.covers })),
    rarity: loose.rarity,
    shares: new Float64Array(loose.words.length),
  };
  const excluded = ctx.excluded.map(facts);
  const cands = bestCandidates(loose, ctx);
  const ids = new Int32Array(cands.size);
  const bounds = new Float64Array(ids.length);
  const exact = new Uint8Array(ids.length);
  const papers = new PaperCounts();
  let n = 0;
  for (const id of cands) {
    if (accept !== null && !accept(id)) continue;
    let bound = bestBound(id, lf, excluded, ctx, src);
    if (bound === NO_HIT) continue;
    let isExact = 0;
    if (bound === Infinity) {
      const s = bestScore(id, loose, ctx);
      if (s === null) continue;
      bound = s.score;
      isExact = 1;
    }
    ids[n] = id;
    bounds[n] = bound;
    exact[n] = isExact;
    papers.add(src.docIndex(id));
    n++;
  }
  if (n === 0) return null;
  const perDocument = papers.record(src);
  const score = (i: number): number => {
    if (exact[i] === 0) {
      bounds[i] = bestScore(ids[i]!, loose, ctx)?.score ?? -Infinity;
      exact[i] = 1;
    }
    return bounds[i]!;
  };
  const first = firstByScore(bounds, n, k, score, (i) => src.orderKey(ids[i]!), 1);
  const hits = first.map((i) => ({ passage: src.passage(ids[i]!)!, score: bounds[i]! }));
  const items = looseItems(loose);
  const matches = (p: Passage): MatchSpan[] => mergeSpans(items.flatMap((ci) => itemSpans(ci, p, src, ctx.pool)));
  return { hits, total: n, perDocument, matches, mode: 'best' };
}

/** What {@link bestBound} knows of a best-match query. */
interface LooseFacts {
  required: ItemFacts[][];
  words: ItemFacts[];
  groups: Array<{ item: ItemFacts; covers: number[] }>;
  rarity: number[];
  /** Scratch: each word's share bound for the candidate at hand. */
  shares: Float64Array;
}

/**
 * What the tables say of an item in a passage: an upper bound of its BM25
 * weight (0 when it is certainly absent), whether it is certainly there
 * (`sure`), or -1 when they cannot tell.
 */
function itemBound(item: ItemFacts, id: number, norm: number, out: { sure: boolean; pending: boolean }): number {
  let tf = 0;
  let unbounded = false;
  for (const f of item.variants) {
    if (!f.set.has(id)) continue;
    const b = variantBound(f, id);
    if (b < 0) {
      if (!presentUnbounded(f, id)) return -1;
      // There, but how often only the passage can tell: held for certain, weight unbounded.
      out.sure = true;
      unbounded = true;
      continue;
    }
    if (b > 0) {
      if (f.check === undefined) out.sure = true;
      else out.pending = true;
    }
    tf += b * f.via * f.share;
  }
  if (unbounded) return Infinity;
  return tf > 0 ? (item.idf * (tf * (K1 + 1))) / (tf + norm) : 0;
}

/**
 * Whether a phrase variant of the items that the tables could not settle holds in the passage.
 * (Loops rather than nested `some` callbacks: the counting pass asks this of tens of thousands of candidates.)
 */
function passesCheck(items: ItemFacts[], id: number): boolean {
  for (const item of items) for (const f of item.variants) if (f.check !== undefined && f.set.has(id) && f.check(id)) return true;
  return false;
}

/** Whether the passage is a candidate of a phrase variant of the items, still to be checked. */
function awaitsCheck(items: ItemFacts[], id: number): boolean {
  for (const item of items) for (const f of item.variants) if (f.check !== undefined && f.set.has(id)) return true;
  return false;
}

/**
 * Of one best-match candidate: an upper bound of its {@link bestScore} when
 * the tables show it is a hit; {@link NO_HIT} when they show it is not;
 * Infinity when they cannot tell (score it exactly). The score is the
 * required clauses' count, plus the rarity of the words held, plus
 * weight / (weight + 1) for its BM25 weight: bounded by the rarity of every
 * word the passage may hold (its own or through a group) and the fraction of
 * the weight's bound (each word's share at most the larger of its own weight
 * and a group's weight over its words), or 1 when a word's weight has no bound.
 */
function bestBound(id: number, lf: LooseFacts, excluded: ItemFacts[], ctx: Context, src: TopSource): number {
  const norm = lengthNorm(id, ctx);
  const state = { sure: false, pending: false };
  let weight = 0;
  for (const clause of lf.required) {
    state.sure = false;
    state.pending = false;
    for (const item of clause) {
      const w = itemBound(item, id, norm, state);
      if (w < 0) return Infinity;
      weight += w;
    }
    if (!state.sure && !(state.pending && passesCheck(clause, id))) return NO_HIT;
  }
  // A passage holding the required clauses scores above 0; without any, it needs a word or a group.
  state.sure = lf.required.length > 0;
  state.pending = false;
  const shares = lf.shares;
  for (let i = 0; i < lf.words.length; i++) {
    const w = itemBound(lf.words[i]!, id, norm, state);
    if (w < 0) return Infinity;
    shares[i] = w;
  }
  for (const g of lf.groups) {
    const w = itemBound(g.item, id, norm, state);
    if (w < 0) return Infinity;
    if (w === 0) continue;
    const each = w / g.covers.length;
    for (const i of g.covers) if (each > shares[i]!) shares[i] = each;
  }
  if (
    !state.sure &&
    !(
      state.pending &&
      (passesCheck(lf.words, id) ||
        passesCheck(
          lf.groups.map((g) => g.item),
          id,
        ))
    )
  )
    return NO_HIT;
  let coverage = 0;
  for (let i = 0; i < shares.length; i++) {
    if (shares[i]! === 0) continue;
    weight += shares[i]!;
    coverage += lf.rarity[i]!;
  }
  for (const item of excluded) {
    for (const f of item.variants) {
      if (!f.set.has(id)) continue;
      const b = variantBound(f, id);
      if (b < 0) return Infinity;
      if (b > 0 && (f.check === undefined || f.check(id))) return NO_HIT;
    }
  }
  const kind = src.kindOf(id);
  if (kind === undefined) return Infinity;
  weight *= priorBound(kind, id, src);
  return (lf.required.length + coverage + (weight === Infinity ? 1 : weight / (weight + 1))) * SLACK;
}

/**
 * Whether a passage holds the whole query as one phrase (`wholeQueryAdjacent`
 * in rank.ts, the whole-query phrase bonus), asked of the index before the
 * passage is read: each pair of neighbouring words must be one of the
 * passage's biwords, which for two words is the whole answer (the biwords
 * encode the same adjacency rule). Only a longer query whose biwords are all
 * there reads the passage's tokens. Reading tokens for the first
 * {@link BONUS_TOP} hits of every query of two or more words meant analysing
 * up to 200 passages per query once they had left the token cache.
 */
function wholeQueryHolds(clauses: CompiledItem[][], src: TopSource): (id: number) => boolean {
  // The phrase wholeQueryAdjacent looks for: each clause's one item, as typed (its first variant, no translation).
  const own = clauses.every((c) => c.length === 1) ? clauses.map((c) => c[0]!.variants[0]!).filter((v) => v.via === undefined) : [];
  if (own.length !== clauses.length || own.length < 2) return () => false;
  const tokens = own.flatMap((v) => v.tokens);
  // Between clauses the words may stand apart by punctuation (loose); within a clause as the clause's variant says.
  const loose = own.flatMap((v, i) => (i === 0 ? v.loose : [true, ...v.loose]));
  // A loose pair is indexed apart only between two Chinese words; any other pair follows the strict rule (see `biwords`).
  const keys = loose.map((l, i) =>
    biword(tokens[i]!.term, tokens[i + 1]!.term, l && tokens[i]!.script === 'han' && tokens[i + 1]!.script === 'han'),
  );
  return (id) => {
    for (const k of keys) if (src.index.frequency(id, k) === 0) return false;
    return keys.length === 1 || wholeQueryAdjacent(clauses, src.tokens(id));
  };
}

/**
 * The query's filters (`lang:`, `doc:`, `kind:`, and the caller's `restrict`)
 * as `accept` in compileQuery applies them, read from the typed arrays where
 * they can be; null when nothing is filtered.
 */
function typedAccept(q: ParsedQuery, opts: RankOptions, src: TopSource): ((id: number) => boolean) | null {
  const { lang, docs, kinds } = q.filters;
  const restrict = opts.restrict;
  const docSet = new Set(docs);
  const kindSet = new Set(kinds ?? []);
  if (lang === undefined && docSet.size === 0 && kindSet.size === 0 && restrict === undefined) return null;
  const inDocs = perPaper(src, (doc) => docSet.has(doc));
  return (id) =>
    (lang === undefined || src.langOf(id) === lang) &&
    (docSet.size === 0 || inDocs(id)) &&
    (kindSet.size === 0 || kindSet.has(src.kindOf(id)!)) &&
    (restrict === undefined || restrict(src.passage(id)!));
}

/**
 * The `want` entries with the highest exact scores (ties by key), best first,
 * scoring entries in descending order of their bounds and stopping when the
 * next bound is below the worst score kept.
 * With `reach` above 1, also every entry whose score times `reach` is at
 * least the want-th best score: the entries a boost by at most `reach` could
 * lift into the first `want` (so the result is the ranking's beginning up to
 * the last entry that could), cut at max(`want`, `cap`) entries: a boost that reaches only
 * the ranking's first `cap` cannot lift an entry from beyond them, so once the
 * first `cap` are settled the rest need no exact score.
 * @param bounds - each entry's upper bound (replaced by its score once `score` is called)
 */
function firstByScore(
  bounds: Float64Array,
  n: number,
  want: number,
  score: (i: number) => number,
  keyOf: (i: number) => number,
  reach: number,
  cap = Infinity,
): number[] {
  // A max-heap of entries by bound.
  const heap = new Int32Array(n);
  for (let i = 0; i < n; i++) heap[i] = i;
  let size = n;
  const down = (at: number): void => {
    const x = heap[at]!;
    for (;;) {
      const l = 2 * at + 1;
      if (l >= size) break;
      const r = l + 1;
      const c = r < size && bounds[heap[r]!]! > bounds[heap[l]!]! ? r : l;
      if (!(bounds[heap[c]!]! > bounds[x]!)) break;
      heap[at] = heap[c]!;
      at = c;
    }
    heap[at] = x;
  };
  for (let i = (n >> 1) - 1; i >= 0; i--) down(i);
  // The best `want` so far, worst at the root.
  const kept: number[] = [];
  const worse = (a: number, b: number): boolean => bounds[a]! < bounds[b]! || (bounds[a]! === bounds[b]! && keyOf(a) > keyOf(b));
  const siftUp = (at: number): void => {
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!worse(kept[at]!, kept[parent]!)) break;
      [kept[at], kept[parent]] = [kept[parent]!, kept[at]!];
      at = parent;
    }
  };
  const siftDown = (at: number): void => {
    for (;;) {
      const l = 2 * at + 1;
      if (l >= kept.length) return;
      const r = l + 1;
      const c = r < kept.length && worse(kept[r]!, kept[l]!) ? r : l;
      if (!worse(kept[c]!, kept[at]!)) return;
      [kept[at], kept[c]] = [kept[c]!, kept[at]!];
      at = c;
    }
  };
  /** Every entry scored (for `reach`). */
  const scored: number[] = [];
  /** With `reach`, the best `cap` scores so far, lowest at the root (a plain min-heap of scores). */
  const capped = reach > 1 && cap > want && Number.isFinite(cap) ? new Float64Array(cap) : null;
  let cappedSize = 0;
  const pushCapped = (v: number): void => {
    if (capped === null) return;
    if (cappedSize < capped.length) {
      let at = cappedSize++;
      while (at > 0 && capped[(at - 1) >> 1]! > v) {
        capped[at] = capped[(at - 1) >> 1]!;
        at = (at - 1) >> 1;
      }
      capped[at] = v;
      return;
    }
    if (v <= capped[0]!) return;
    let at = 0;
    for (;;) {
      const l = 2 * at + 1;
      if (l >= cappedSize) break;
      const c = l + 1 < cappedSize && capped[l + 1]! < capped[l]! ? l + 1 : l;
      if (!(capped[c]! < v)) break;
      capped[at] = capped[c]!;
      at = c;
    }
    capped[at] = v;
  };
  while (size > 0 && want > 0) {
    const i = heap[0]!;
    // Bounds come highest first: once one (times the reach) is below the worst score kept, nothing after it can enter.
    if (kept.length === want && bounds[i]! * reach < bounds[kept[0]!]!) break;
    // Nor, once the ranking's first `cap` are settled (no later bound reaches the cap-th score), can anything after them.
    if (capped !== null && cappedSize === capped.length && bounds[i]! < capped[0]!) break;
    size--;
    if (size > 0) {
      heap[0] = heap[size]!;
      down(0);
    }
    if (score(i) === -Infinity) continue;
    if (reach > 1) {
      scored.push(i);
      pushCapped(bounds[i]!);
    }
    if (kept.length < want) {
      kept.push(i);
      siftUp(kept.length - 1);
    } else if (worse(kept[0]!, i)) {
      kept[0] = i;
      siftDown(0);
    }
  }
  const byScore = (a: number, b: number): number => bounds[b]! - bounds[a]! || keyOf(a) - keyOf(b);
  if (reach === 1 || kept.length < want) return kept.sort(byScore);
  const worst = bounds[kept[0]!]!;
  return scored
    .sort(byScore)
    .slice(0, Math.max(want, cap))
    .filter((i) => bounds[i]! * reach >= worst);
}

function grow<T extends Int32Array | Float64Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
