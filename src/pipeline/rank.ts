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
 *
 * The query is compiled in rank-compile.ts, each candidate scored in
 * rank-score.ts, its frequencies and match spans read in rank-spans.ts;
 * this module ranks every hit (the top-k path, rank-top.ts, only the first
 * page's).
 */
import type { MatchSpan, Passage } from '../core/types.js';
import { readsAsQuestion } from './best-match.js';
import type { ParsedQuery } from './query.js';
import { isSummary } from './summary.js';
import type { CompiledItem, CompiledLoose, Context, MatchMode, RankOptions, RankedHit, SearchSource } from './rank-types.js';
import { compileLoose, compileQuery, looseItems } from './rank-compile.js';
import { PHRASE_BONUS, SUMMARY_BOOST, type TitleMemo, bestCandidates, bestScore, strictCandidates, strictScore } from './rank-score.js';
import { itemSpans, mergeSpans, wholeQueryAdjacent } from './rank-spans.js';
import { sectionScores, withSections } from './rank-sections.js';

export type { MatchMode, RankOptions, RankedHit, SearchSource } from './rank-types.js';

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

const order = (x: RankedHit, y: RankedHit): number =>
  y.score - x.score || x.passage.docId.localeCompare(y.passage.docId) || x.passage.start - y.passage.start;

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
 * Best match: the required clauses must match as in strict mode, and
 * passages are ranked by how much of the query they hold — the required
 * clauses and the words, a word group (`counterpart support`, or its
 * translation 对口支援) counting as the words it covers — then by BM25 over
 * the words (a group's weight replacing its words' when it is larger) times
 * the kind prior. Each word counts by its rarity (idf over the query's mean
 * idf), so passages with every word come first, a passage missing a common
 * word ranks above one missing a rare one, a passage that repeats one word
 * never outranks one holding more of the query's weight, and a translated
 * pair counts as both its words. A passage under a heading naming the whole
 * query counts as holding it (see rank-sections.ts).
 */
function bestHits(loose: CompiledLoose, ctx: Context): RankedHit[] {
  const hits: RankedHit[] = [];
  const candidates = bestCandidates(loose, ctx);
  for (const id of candidates) {
    const s = bestScore(id, loose, ctx);
    if (s !== null) hits.push({ passage: s.p, score: s.score });
  }
  // Every hit is here, so a passage not among them is no hit by its own text.
  const sections = sectionScores(loose, ctx, candidates);
  return withSections(
    hits,
    sections,
    () => null,
    (id) => ctx.src.passage(id),
    order,
  ).hits;
}

/**
 * Run a parsed query against the corpus: strictly, or by best match when
 * strict matching finds fewer than {@link BEST_MATCH_BELOW} passages or the
 * query reads as a question (see `best-match.ts`), or always with
 * `match: 'best'` (a short result's near matches).
 */
export function rank(q: ParsedQuery, src: SearchSource, opts: RankOptions = {}): RankResult {
  const { expand, pool, clauses, ctx } = compileQuery(q, src, opts);
  const strict = strictHits(clauses, ctx);
  const spans = (items: CompiledItem[]) => (p: Passage) => mergeSpans(items.flatMap((ci) => itemSpans(ci, p, src, pool)));
  const result: RankResult = { hits: strict, matches: spans(clauses.flat()), mode: 'strict', strictTotal: strict.length };
  if ((opts.match ?? 'auto') === 'strict') return result;
  if (opts.match !== 'best' && strict.length >= BEST_MATCH_BELOW && !readsAsQuestion(q)) {
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
