/**
 * Best match's first `k` hits on the top-k path ({@link bestTop}): most
 * candidates settled and bounded from the tables ({@link bestBound}), scored
 * exactly in descending order of their bound until no later one can enter.
 */
import type { MatchSpan, Passage } from '../core/types.js';
import {
  type CompiledItem,
  type CompiledLoose,
  type Context,
  K1,
  bestCandidates,
  bestScore,
  itemSpans,
  lengthNorm,
  mergeSpans,
  looseItems,
  priorBound,
} from './rank.js';
import {
  type TopSource,
  type TopResult,
  PaperCounts,
  SLACK,
  variantBound,
  presentUnbounded,
  type ItemFacts,
  NO_HIT,
  passesCheck,
} from './rank-top-facts.js';
import { firstByScore } from './rank-top-order.js';

/**
 * Best match's first `k` hits and the counts of all of them, or null when it
 * finds nothing (see `rankTop` in rank-top.ts).
 */
export function bestTop(
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
