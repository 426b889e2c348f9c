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
 * loosened query): `bestBound` (rank-top-best.ts) settles most candidates from the tables
 * and bounds each one's `bestScore` (rank-score.ts) — how much of the query it may hold
 * (the rarity of every word it may hold), plus the most its BM25 fraction can
 * be — and candidates are scored exactly in descending order of that bound
 * until no later one can enter the first k. A question of common words
 * scores a few dozen passages instead of every passage holding any word.
 *
 * This module is the orchestration and the general step 1; the parts live in
 * rank-top-facts.ts (the source, the result, variants' facts and bounds),
 * rank-top-plain.ts (the plain pass), rank-top-groups.ts (the impact-first
 * passes), rank-top-best.ts (best match) and rank-top-order.ts (taking the
 * first entries by exact score).
 */
import type { MatchSpan, Passage } from '../core/types.js';
import { IdSet } from './idset.js';
import type { ParsedQuery } from './query.js';
import type { CompiledItem, Context, RankOptions } from './rank-types.js';
import {
  K1,
  PHRASE_BONUS,
  SUMMARY_BOOST,
  TITLE_BOOST,
  type TitleMemo,
  idf,
  isOptional,
  lengthNorm,
  priorBound,
  strictCandidates,
  strictScore,
} from './rank-score.js';
import { itemSpans, mergeSpans, titleMentions, wholeQueryAdjacent } from './rank-spans.js';
import { compileLoose, compileQuery, termMemo, termPostings } from './rank-compile.js';
import { BEST_MATCH_BELOW, BONUS_ALL_BELOW, BONUS_TOP, summaryPassage } from './rank.js';
import { readsAsQuestion } from './best-match.js';
import { biword } from './analyze.js';
import { type Bonus, topEntries } from './top.js';
import {
  type TopSource,
  type TopResult,
  PaperCounts,
  perPaper,
  SLACK,
  factsOf,
  variantBound,
  type ClauseFacts,
  type ItemFacts,
  NO_HIT,
  passesCheck,
  awaitsCheck,
  grow,
} from './rank-top-facts.js';
import { firstByScore } from './rank-top-order.js';
import { RUN_WORD, type PlainQuery, plainQuery, type PlainResult, type PlainPassOptions, plainPass } from './rank-top-plain.js';
import { oneWordPass, itemPass } from './rank-top-groups.js';
import { bestTop } from './rank-top-best.js';

export type { TopResult, TopSource } from './rank-top-facts.js';

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
 * step 1 it took, how many candidates it looked at, how many of its hits it
 * kept for ranking (the rest could not reach the first k), and how many
 * phrase checks its counting made (-1: not counted).
 */
export const lastTopPass = { pass: 'general' as 'general' | 'plain' | 'one-word' | 'item', looked: 0, hits: 0, kept: 0, checked: -1 };

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
  // rank-compile.ts): the same table the bounds read, so it is not built a second time from the posting list.
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
    const r = tablePass(cands, plain, accept, {
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
    Object.assign(lastTopPass, { pass: r.pass, looked: cands.length, hits: r.hits, kept: r.n, checked: r.checked ?? -1 });
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
  Object.assign(lastTopPass, { pass: 'general', looked: cands instanceof Int32Array ? cands.length : n, hits: n, kept: n, checked: -1 });
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

    if (summaries && (opts.match === 'best' || hits < BEST_MATCH_BELOW || readsAsQuestion(q))) {
      const loose = compileLoose(q, cq);
      // Its own total past the cap may be "at least N" too: candidates only their text can settle are
      // read only if their coverage tier is reached (see `tieredPass` in rank-top-best.ts).
      const best = loose === null ? null : bestTop(loose, ctx, src, k, accept, facts, opts.exactTotalUpTo ?? EXACT_TOTAL_UP_TO);
      // Every strict hit holds the words too, so no best hit means the strict result stands (unboosted).
      if (best !== null) return { ...best, strictTotal: hits };
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
 * Step 1 from the frequency tables alone ({@link plainQuery}): a query of
 * one word (or one Chinese run) impact first ({@link oneWordPass}), one item
 * of several variants impact first ({@link itemPass}), any other in one loop
 * ({@link plainPass}).
 */
function tablePass(cands: Int32Array, pq: PlainQuery, accept: ((id: number) => boolean) | null, o: PlainPassOptions): PlainResult {
  const first = pq.clauses[0]!.items;
  const only = pq.clauses.length === 1 && first.length === 1 && first[0]!.variants.length === 1 ? first[0]! : null;
  if (only !== null && only.variants[0]!.kind <= RUN_WORD && pq.excluded.length === 0)
    return oneWordPass(cands, only.variants[0]!, only.idf, accept, o);
  if (pq.clauses.length === 1 && first.length === 1) return itemPass(cands, pq, accept, o);
  return plainPass(cands, pq, accept, o);
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

/**
 * Whether a passage holds the whole query as one phrase (`wholeQueryAdjacent`
 * in rank-spans.ts, the whole-query phrase bonus), asked of the index before the
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
