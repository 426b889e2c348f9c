/**
 * Step 1 of the top-k ranking for a query of plain words — every variant one
 * or two words, or a Chinese run of them — settled from the frequency tables
 * alone ({@link plainQuery}, {@link plainPass}), and what the impact-first
 * passes of rank-top-groups.ts share with it.
 */
import { IdSet } from './idset.js';
import type { CompiledItem, Context } from './rank-types.js';
import { K1, MID_WORD_WEIGHT, TITLE_BOOST, type TitleMemo, lengthNorm, priorBound, strictScore } from './rank-score.js';
import { type TopSource, PaperCounts, SLACK, type VariantFacts, type ClauseFacts, type ItemFacts, reusable } from './rank-top-facts.js';
import { wantthScore } from './rank-top-order.js';

/** {@link PlainVariant}'s kinds: the shapes of {@link VariantFacts} the plain pass reads. */
const WORD = 0;

export const RUN_WORD = 1;

export const PAIR = 2;

const RUN_PAIR = 3;

/** A translation's bag of words (outside strict mode): as often as its rarest word at most, confirmed by its check. */
export const BAG = 4;

/**
 * A variant {@link plainPass} reads: its words' frequency tables, the weight
 * of an occurrence, what a candidate listed with frequency 0 holds (`zero`:
 * 0 nothing, 1 one mid-word occurrence of a two-character run, 2 unknown: a
 * longer run, to be found in the text), and a phrase's check.
 */
export interface PlainVariant {
  kind: typeof WORD | typeof RUN_WORD | typeof PAIR | typeof RUN_PAIR | typeof BAG;
  table: Uint16Array;
  /** The second word's table (a pair), else the first's. */
  table2: Uint16Array;
  /** Every word's table (a bag may have more than two words). */
  tables: Uint16Array[];
  w: number;
  set: IdSet;
  run: boolean;
  zero: 0 | 1 | 2;
  check: ((id: number) => boolean) | undefined;
}

/** A query {@link plainPass} can settle: every variant one or two words (or a Chinese run of them), or a translation's bag of words. */
export interface PlainQuery {
  clauses: Array<{ items: Array<{ idf: number; variants: PlainVariant[] }>; checks: PlainVariant[] }>;
  excluded: PlainVariant[];
}

/**
 * The query as {@link plainPass} reads it, or null when a variant needs more
 * than frequency tables (a longer phrase, a grep form) or a clause is
 * optional. A bag is bounded by its rarest word's table and confirmed by its
 * check, as a two-word phrase is by its biword.
 */
export function plainQuery(clauses: ClauseFacts[], excluded: ItemFacts[]): PlainQuery | null {
  if (clauses.length === 0 || clauses.some((c) => c.optional === true)) return null;
  const variant = (f: VariantFacts): PlainVariant | null => {
    const kind =
      f.shape === 'word'
        ? WORD
        : f.shape === 'run-word'
          ? RUN_WORD
          : f.shape === 'pair'
            ? PAIR
            : f.shape === 'run-pair'
              ? RUN_PAIR
              : f.shape === 'bag'
                ? BAG
                : -1;
    if (kind < 0 || (kind === BAG ? f.tables.length === 0 : f.tables.length !== (kind === PAIR || kind === RUN_PAIR ? 2 : 1))) return null;
    // Only a phrase of two words (its biword) and a bag are checked; the one-word shapes are exact as listed.
    if (f.check !== undefined && kind !== PAIR && kind !== BAG) return null;
    const run = kind === RUN_WORD || kind === RUN_PAIR;
    return {
      kind: kind as PlainVariant['kind'],
      table: f.tables[0]!,
      table2: f.tables[f.tables.length - 1]!,
      tables: f.tables,
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
export function plainBound(v: PlainVariant, id: number): number {
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
    case BAG: {
      // As variantBound's bag: its rarest word's frequency.
      if (!v.set.has(id)) return 0;
      const tables = v.tables;
      let t = Infinity;
      for (let i = 0; i < tables.length; i++) t = Math.min(t, tfOf(tables[i]!, id));
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
export interface PlainResult {
  pass: 'plain' | 'one-word' | 'item';
  ids: Int32Array;
  bounds: Float64Array;
  exact: Uint8Array;
  n: number;
  /** Every hit, and the candidates that are hits if a phrase check passes (`pendingN` of them, not counted per paper). */
  hits: number;
  pendingN: number;
  papers: PaperCounts;
  /** How many phrase checks the counting made (left out where not counted). */
  checked?: number;
}

/** What {@link plainPass} needs of the query besides its tables. */
export interface PlainPassOptions {
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
 * and bounded as `strictBound` (rank-top.ts) bounds it — in one loop over
 * typed arrays, without strictBound's general cases. Candidates the tables cannot
 * settle (a longer Chinese run found only inside longer words) are scored
 * exactly, as in `rankTop`.
 *
 * Then the `want` entries of highest bound are scored exactly: the want-th
 * best of those scores is at most the ranking's want-th best, so every
 * entry whose bound (times `reach`) is below it cannot enter the first
 * `want` and is left out — counted, but never put in the ranking's heap. A
 * frequent word's expansion keeps a few hundred of its tens of thousands of
 * hits. A query of one word or of one item takes the impact-first passes of
 * rank-top-groups.ts instead (see `tablePass` in rank-top.ts).
 */
export function plainPass(cands: Int32Array, pq: PlainQuery, accept: ((id: number) => boolean) | null, o: PlainPassOptions): PlainResult {
  const { ctx, src } = o;
  const { ids, bounds, exact } = entriesFor(cands.length);
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
    const ex = exclusion(excluded, id);
    if (ex === EXCLUDED) continue;
    if (ex === UNSURE) unknown = true;
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

/**
 * {@link plainPass}'s entries, one per hit until the floor is known: kept
 * between queries rather than allocated for each (an expansion's tens of
 * thousands of hits made each query allocate and zero a megabyte, and
 * collect it after). The arrays a pass returns are these, so they hold its
 * answer until the next plain pass: `rankTop` reads them to its end first.
 */
const entriesFor = reusable(
  (size) => ({ ids: new Int32Array(size), bounds: new Float64Array(size), exact: new Uint8Array(size) }),
  (e) => e.ids.length,
);

/** {@link exclusion}: a variant of an excluded item certainly stands in the passage. */
export const EXCLUDED = 2;

/** {@link exclusion}: the tables cannot tell for some excluded variant (score the passage exactly). */
export const UNSURE = 1;

/**
 * What the tables say of a candidate and the query's exclusions:
 * {@link EXCLUDED}, {@link UNSURE}, or 0 when no excluded variant stands in it.
 */
export function exclusion(excluded: PlainVariant[], id: number): number {
  let unsure = 0;
  for (let u = 0; u < excluded.length; u++) {
    const v = excluded[u]!;
    const b = plainBound(v, id);
    if (b < 0) unsure = UNSURE;
    else if (b > 0 && (v.check === undefined || v.check(id))) return EXCLUDED;
  }
  return unsure;
}

/** {@link wantthScore} over a pass's entries, scoring those not yet scored with `strictScore`. */
export function wantth(ids: Int32Array, bounds: Float64Array, exact: Uint8Array, n: number, want: number, o: PlainPassOptions): number {
  return wantthScore(bounds, n, want, (i) => {
    if (exact[i] === 0) {
      bounds[i] = strictScore(ids[i]!, o.clauses, o.ctx, o.titles)?.score ?? -Infinity;
      exact[i] = 1;
    }
    return bounds[i]!;
  });
}
