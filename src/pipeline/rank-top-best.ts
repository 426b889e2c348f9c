/**
 * Best match's first `k` hits on the top-k path ({@link bestTop}): most
 * candidates settled and bounded from the tables ({@link bestBound}), scored
 * exactly in descending order of their bound until no later one can enter.
 */
import type { MatchSpan, Passage } from '../core/types.js';
import type { CompiledItem, CompiledLoose, Context } from './rank-types.js';
import { K1, bestCandidates, bestScore, lengthNorm, priorBound } from './rank-score.js';
import { sectionScores, withSections } from './rank-sections.js';
import { itemSpans, mergeSpans } from './rank-spans.js';
import { looseItems } from './rank-compile.js';
import {
  type TopSource,
  type TopResult,
  PaperCounts,
  SLACK,
  variantBound,
  presentUnbounded,
  type ItemFacts,
  type VariantFacts,
  NO_HIT,
  passesCheck,
} from './rank-top-facts.js';
import { firstByScore, wantthScore } from './rank-top-order.js';
import type { IdSet } from './idset.js';

/**
 * Best match's first `k` hits and the counts of all of them, or null when it
 * finds nothing (see `rankTop` in rank-top.ts).
 * @param cap - hits counted before a candidate only its text can settle is left to its coverage tier
 *   (read only if the ranking reaches that tier; the total is then "at least", as strict totals past
 *   `EXACT_TOTAL_UP_TO` are)
 */
export function bestTop(
  loose: CompiledLoose,
  ctx: Context,
  src: TopSource,
  k: number,
  accept: ((id: number) => boolean) | null,
  facts: (ci: CompiledItem) => ItemFacts,
  cap = Infinity,
): Omit<TopResult, 'strictTotal'> | null {
  const groups = loose.groups.map((g) => ({ item: facts(g.ci), covers: g.covers, bits: g.covers.reduce((b, i) => b | (1 << i), 0) }));
  const lf: LooseFacts = {
    required: loose.required.map((c) => c.map(facts)),
    words: loose.words.map(facts),
    groups,
    groupItems: groups.map((g) => g.item),
    rarity: loose.rarity,
    shares: new Float64Array(loose.words.length),
  };
  const excluded = ctx.excluded.map(facts);
  const cands = bestCandidates(loose, ctx);
  const e: Entries = { ids: new Int32Array(cands.size), bounds: new Float64Array(cands.size), exact: new Uint8Array(cands.size), n: 0 };
  const papers = new PaperCounts();
  const score = (i: number): number => {
    if (e.exact[i] === 0) {
      e.bounds[i] = bestScore(e.ids[i]!, loose, ctx)?.score ?? -Infinity;
      e.exact[i] = 1;
    }
    return e.bounds[i]!;
  };
  /** Bound one candidate ({@link bestBound}) into the entries; whether it is a hit. */
  const take = (id: number, mask = -1): boolean => {
    let bound = bestBound(id, lf, excluded, ctx, src, mask);
    if (bound === NO_HIT) return false;
    let isExact = 0;
    if (bound === Infinity) {
      const s = bestScore(id, loose, ctx);
      if (s === null) return false;
      bound = s.score;
      isExact = 1;
    }
    e.ids[e.n] = id;
    e.bounds[e.n] = bound;
    e.exact[e.n++] = isExact;
    return true;
  };
  let total = 0;
  let pending = 0;
  if (lf.required.length === 0 && excluded.length === 0 && lf.words.length <= MAX_TIER_WORDS)
    ({ total, pending } = tieredPass(cands, lf, k, accept, src, take, score, papers, e, cap));
  else {
    for (const id of cands.ids) {
      if ((accept === null || accept(id)) && take(id)) {
        papers.add(src.docIndex(id));
        total++;
      }
    }
    lastBestPass.tiers = -1;
    lastBestPass.bounded = e.n;
  }
  const { ids, bounds, n } = e;
  if (total === 0 && pending === 0) return null;
  const first = firstByScore(bounds, n, k, score, (i) => src.orderKey(ids[i]!), 1);
  // The first k by their own text, then section evidence (rank-sections.ts): a section's passage
  // ranking past them by its own score can only rise by it, and it is scored again here.
  const sections = withSections(
    first.map((i) => ({ passage: src.passage(ids[i]!)!, score: bounds[i]! })),
    sectionScores(loose, ctx, cands.ids, (id) => src.kindOf(id)),
    (id) => bestScore(id, loose, ctx),
    (id) => src.passage(id),
    (a, b) => b.score - a.score || src.orderKey(a.passage.id) - src.orderKey(b.passage.id),
  );
  const hits = sections.hits.slice(0, k);
  for (const p of sections.added) papers.add(src.docIndex(p.id));
  total += sections.added.length;
  const perDocument = papers.record(src);
  const items = looseItems(loose);
  const matches = (p: Passage): MatchSpan[] => mergeSpans(items.flatMap((ci) => itemSpans(ci, p, src, ctx.pool)));
  return { hits, total, totalRelation: pending > 0 ? 'gte' : 'eq', perDocument, matches, mode: 'best' };
}

/** Entries of the best-match ranking: passage ids, each one's bound (its exact score once `exact`), `n` used. */
interface Entries {
  ids: Int32Array;
  bounds: Float64Array;
  exact: Uint8Array;
  n: number;
}

/** Most words a best-match query may have for {@link tieredPass} (one bit each in a 32-bit mask). */
const MAX_TIER_WORDS = 31;

/** Scratch by passage id for {@link tieredPass}, kept between queries and cleared after each. */
let mayHold = new Uint32Array(0);

let surelyHolds = new Uint32Array(0);

let opaqueTo = new Uint8Array(0);

/** How {@link tieredPass} reads a variant's candidates from the tables (see `mark` there). */
const WORD = 0;

const SHORT_RUN = 1;

const RUN = 2;

const CHECKED = 3;

const OPAQUE = 4;

/**
 * How the last best-match ranking went, for tests: how many coverage tiers
 * its candidates fell in (-1: not tiered), how many it bounded one by one.
 */
export const lastBestPass = { tiers: -1, bounded: 0 };

/**
 * Best match's step 1 by coverage tiers, for a query of optional words only
 * (no required clause, no exclusion), as questions are. A best-match score is
 * the share of the query a passage holds (the rarity of its words) plus a
 * fraction below 1, so a passage holding only common words (`village`,
 * `support`) cannot outrank one holding rarer words unless its rarity sum is
 * within 1 of it. Each candidate's possible words are marked as a bitmask by
 * reading each word's candidate lists once (not asking every variant of
 * every word for every candidate); a candidate one of whose words certainly
 * stands (a listed word, frequency above 0) is counted as a hit (total and
 * per paper) from the mask alone, and put in the tier of its mask's rarity.
 * Tiers are then bounded from the richest down, candidate by candidate
 * ({@link bestBound}), until the want-th best exact score is above what the
 * next tier can score (its rarity plus 1): no passage of a poorer tier can
 * enter. A candidate held only through a two-word phrase or a translation's
 * bag of words is a hit if its check passes, and tiered alike; those only
 * the passage can settle (a longer Chinese run the tables list 0 times,
 * found across jieba's words) are bounded one by one up to the `cap`'s worth
 * of hits, and past it tiered as pending: read only if their tier is
 * reached, left out of the total otherwise (then "at least N").
 */
function tieredPass(
  cands: IdSet,
  lf: LooseFacts,
  k: number,
  accept: ((id: number) => boolean) | null,
  src: TopSource,
  take: (id: number, mask?: number) => boolean,
  score: (i: number) => number,
  papers: PaperCounts,
  e: Entries,
  cap: number,
): { total: number; pending: number } {
  const limit = cands.size === 0 ? 0 : cands.ids[cands.size - 1]! + 1;
  if (mayHold.length < limit) {
    mayHold = new Uint32Array(limit);
    surelyHolds = new Uint32Array(limit);
    opaqueTo = new Uint8Array(limit);
  }
  const may = mayHold;
  const sure = surelyHolds;
  const opaque = opaqueTo;
  const marked: VariantFacts[] = [];
  /** Variants whose candidates hold them only if their check passes: a two-word phrase (its biword), a bag of words. */
  const checked: VariantFacts[] = [];
  const mark = (f: VariantFacts, bits: number): void => {
    marked.push(f);
    const ids = f.set.ids;
    const table = f.tables[0];
    // How the tables answer "does the candidate hold it?" (see variantBound): a listed word with a
    // frequency above 0 does (its share is above 0; listed 0 times, only as a bigram, it does not),
    // and so does a Chinese run of one or two characters among its candidates (a mid-word occurrence
    // at least) or a longer run listed as a word; a phrase or bag only if its check passes; a longer
    // run listed 0 times, or any other variant, only the passage can tell.
    const how =
      f.check === undefined && f.shape === 'word'
        ? WORD
        : f.check === undefined && f.shape === 'run-word'
          ? f.chars <= 2
            ? SHORT_RUN
            : RUN
          : f.check !== undefined && (f.shape === 'pair' || f.shape === 'bag')
            ? CHECKED
            : OPAQUE;
    if (how === CHECKED) checked.push(f);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      may[id] = may[id]! | bits;
      if (how === SHORT_RUN || ((how === WORD || how === RUN) && table![id] !== 0)) sure[id] = sure[id]! | bits;
      else if (how === OPAQUE || how === RUN) opaque[id] = 1;
    }
  };
  try {
    for (let i = 0; i < lf.words.length; i++) for (const f of lf.words[i]!.variants) mark(f, 1 << i);
    for (const g of lf.groups) {
      let bits = 0;
      for (const i of g.covers) bits |= 1 << i;
      for (const f of g.item.variants) mark(f, bits);
    }
    // Hits by tier (one per mask, ordered by the mask's rarity); candidates the tables cannot settle bounded now.
    const tierOf = new Map<number, number>();
    const tierCover: number[] = [];
    const hitIds = new Int32Array(cands.size);
    const hitTier = new Int32Array(cands.size);
    const hitPending = new Uint8Array(cands.size);
    let h = 0;
    let total = 0;
    /** Candidates left pending (in `hitIds`, not counted). */
    let pendingN = 0;
    let lastMask = -1;
    let lastTier = 0;
    const ids = cands.ids;
    for (let c = 0; c < ids.length; c++) {
      const id = ids[c]!;
      if (accept !== null && !accept(id)) continue;
      let pending = false;
      if (sure[id] === 0 || src.kindOf(id) === undefined) {
        if (opaque[id] !== 0 || src.kindOf(id) === undefined) {
          // Past the cap, a candidate only its text can settle is left to its tier (see EXACT_TOTAL_UP_TO
          // in rank-top.ts): read only if the tier is reached, and the total is then "at least".
          if (total + h - pendingN >= cap && src.kindOf(id) !== undefined) pending = true;
          else {
            if (take(id)) {
              papers.add(src.docIndex(id));
              total++;
            }
            continue;
          }
        }
        // Held only through phrases and bags: a hit if one of them passes its check.
        let held = false;
        for (let u = 0; u < checked.length && !held; u++) {
          const f = checked[u]!;
          held = f.set.has(id) && f.check!(id);
        }
        if (!pending && !held) continue;
      }
      const m = may[id]!;
      // Neighbouring passages mostly hold the same words: the last mask's tier first.
      let t = m === lastMask ? lastTier : tierOf.get(m);
      if (t === undefined) {
        tierOf.set(m, (t = tierCover.length));
        let cover = 0;
        for (let i = 0; i < lf.rarity.length; i++) if ((m & (1 << i)) !== 0) cover += lf.rarity[i]!;
        tierCover.push(cover);
      }
      lastMask = m;
      lastTier = t;
      hitIds[h] = id;
      hitPending[h] = pending ? 1 : 0;
      hitTier[h++] = t;
      if (pending) pendingN++;
      else papers.add(src.docIndex(id));
    }
    const pendingAll = pendingN;
    // The tiers' hits in descending order of rarity (a counting sort by tier, tiers ordered).
    const order = tierCover.map((_, t) => t).sort((a, b) => tierCover[b]! - tierCover[a]!);
    const rankOf = new Int32Array(order.length);
    order.forEach((t, r) => (rankOf[t] = r));
    const starts = new Int32Array(order.length + 1);
    for (let i = 0; i < h; i++) starts[rankOf[hitTier[i]!]! + 1]!++;
    for (let r = 0; r < order.length; r++) starts[r + 1] = starts[r + 1]! + starts[r]!;
    const byTier = new Int32Array(h);
    const pendingByTier = new Uint8Array(h);
    const fill = starts.slice();
    for (let i = 0; i < h; i++) {
      const at = fill[rankOf[hitTier[i]!]!]!++;
      byTier[at] = hitIds[i]!;
      pendingByTier[at] = hitPending[i]!;
    }
    let floorScore = -Infinity;
    let tiers = 0;
    for (let r = 0; r < order.length; r++) {
      // The most a passage of this tier can score: its rarity, plus a fraction below 1.
      if ((tierCover[order[r]!]! + 1) * SLACK < floorScore) break;
      tiers++;
      // Already counted, certainly hits; or pending, counted now if they are.
      for (let i = starts[r]!; i < starts[r + 1]!; i++) {
        const id = byTier[i]!;
        if (pendingByTier[i] === 0) take(id, may[id]);
        else {
          pendingN--;
          if (take(id, may[id])) {
            papers.add(src.docIndex(id));
            total++;
          }
        }
      }
      if (e.n >= k) floorScore = wantthScore(e.bounds, e.n, k, score);
    }
    // Every hit is counted but the pending ones left; the entries of tiers left out could not reach the first k.
    lastBestPass.tiers = tiers;
    lastBestPass.bounded = e.n;
    return { total: total + h - pendingAll, pending: pendingN };
  } finally {
    for (const f of marked) {
      const ids = f.set.ids;
      for (let i = 0; i < ids.length; i++) {
        may[ids[i]!] = 0;
        sure[ids[i]!] = 0;
        opaque[ids[i]!] = 0;
      }
    }
  }
}

/** What {@link bestBound} knows of a best-match query. */
interface LooseFacts {
  required: ItemFacts[][];
  words: ItemFacts[];
  /** Word groups, with the mask of the words each covers (see `tieredPass`). */
  groups: Array<{ item: ItemFacts; covers: number[]; bits: number }>;
  /** The groups' items (for their checks). */
  groupItems: ItemFacts[];
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
 * Of one best-match candidate: an upper bound of its {@link bestScore} when
 * the tables show it is a hit; {@link NO_HIT} when they show it is not;
 * Infinity when they cannot tell (score it exactly). The score is the
 * required clauses' count, plus the rarity of the words held, plus
 * weight / (weight + 1) for its BM25 weight: bounded by the rarity of every
 * word the passage may hold (its own or through a group) and the fraction of
 * the weight's bound (each word's share at most the larger of its own weight
 * and a group's weight over its words), or 1 when a word's weight has no bound.
 */
function bestBound(id: number, lf: LooseFacts, excluded: ItemFacts[], ctx: Context, src: TopSource, mask = -1): number {
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
    // A word outside the candidate's mask has no variant holding it (see tieredPass): its share is 0.
    if ((mask & (1 << i)) === 0) {
      shares[i] = 0;
      continue;
    }
    const w = itemBound(lf.words[i]!, id, norm, state);
    if (w < 0) return Infinity;
    shares[i] = w;
  }
  for (const g of lf.groups) {
    if ((g.bits & mask) !== g.bits) continue;
    const w = itemBound(g.item, id, norm, state);
    if (w < 0) return Infinity;
    if (w === 0) continue;
    const each = w / g.covers.length;
    for (const i of g.covers) if (each > shares[i]!) shares[i] = each;
  }
  if (!state.sure && !(state.pending && (passesCheck(lf.words, id) || passesCheck(lf.groupItems, id)))) return NO_HIT;
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
