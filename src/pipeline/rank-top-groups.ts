/**
 * Step 1 of the top-k ranking impact first, for one word or one item of
 * several variants: hits counted and grouped by frequency, groups bounded
 * from the most frequent down until the want-th best exact score beats what
 * the next group can score.
 */
import { K1, KIND_PRIOR, MID_WORD_WEIGHT, TITLE_BOOST, leastLengthNorm, lengthNorm, priorBound, strictScore } from './rank-score.js';
import { PaperCounts, SLACK, grow, reusable } from './rank-top-facts.js';
import {
  EXCLUDED,
  UNSURE,
  exclusion,
  type PlainVariant,
  type PlainQuery,
  plainBound,
  PAIR,
  BAG,
  type PlainResult,
  type PlainPassOptions,
  wantth,
} from './rank-top-plain.js';

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
export function oneWordPass(
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
  const { group, hitIds } = scratchFor(cands.length);
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
  const w = v.w;
  const { ids, bounds, exact, n } = rankGroups(
    { hitIds, group, sizes, h, exactIds, exactScores },
    hits,
    GROUPS,
    idf,
    // A group's most: its frequency (the mid-word group a mid-word occurrence; the last open-ended).
    (g) => (g === 0 ? MID_WORD_WEIGHT * w : g === GROUPS - 1 ? Infinity : g * w),
    (id, g) => (g === 0 ? MID_WORD_WEIGHT : table[id]!) * w,
    o,
  );
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
export function itemPass(cands: Int32Array, pq: PlainQuery, accept: ((id: number) => boolean) | null, o: PlainPassOptions): PlainResult {
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
    for (const { v, w, check } of readOnce(item.variants)) {
      const ids = v.set.ids;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        // plainBound, for a member.
        const b = plainBound(v, id);
        if (b < 0) {
          flags[id] = flags[id]! | UNKNOWN | check;
          continue;
        }
        flags[id] = flags[id]! | (b > 0 && check === 0 ? SURE : 0) | check;
        tfs[id] = tfs[id]! + b * w;
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

/**
 * An item's variants as {@link itemPass} reads them: variants with the same
 * candidates and the same bound (a translation's phrase and its bag of words,
 * both at most as often as the rarer word; two glossary entries that stem to
 * the same words, `pairing assistance` and `paired assistance`) read once,
 * their weights summed. The sum is rounded otherwise than the ranking's
 * variant-by-variant sum, which the bound's slack covers.
 */
function readOnce(variants: PlainVariant[]): Array<{ v: PlainVariant; w: number; check: number }> {
  const out: Array<{ v: PlainVariant; w: number; check: number }> = [];
  const twoWords = (v: PlainVariant): boolean => (v.kind === PAIR || v.kind === BAG) && v.tables.length === 2;
  for (const v of variants) {
    const check = v.check === undefined ? 0 : CHECK;
    const same = out.find(
      (o) =>
        o.check === check &&
        o.v.set.ids === v.set.ids &&
        (o.v.kind === v.kind || (twoWords(o.v) && twoWords(v))) &&
        o.v.tables.length === v.tables.length &&
        o.v.tables.every((t, i) => t === v.tables[i]) &&
        o.v.zero === v.zero,
    );
    if (same !== undefined) same.w += v.w;
    else out.push({ v, w: v.w, check });
  }
  return out;
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
  const { group, hitIds } = scratchFor(cands.length);
  const sizes = new Int32Array(ITEM_GROUPS);
  let h = 0;
  const exactIds: number[] = [];
  const exactScores: number[] = [];
  /** Hits and pending candidates so far (as plainPass counts its entries), and the pending ones. */
  let count = 0;
  let pendingN = 0;
  // Hits the tables alone settle may already make the cap: then every phrase check is left to the
  // ranking from the first candidate on, rather than made for the candidates before the cap is reached.
  const checkNone = excluded.length === 0 && settledReach(cands, flags, accept, o);
  let checked = 0;
  for (let c = 0; c < cands.length; c++) {
    const id = cands[c]!;
    if (accept !== null && !accept(id)) continue;
    const deferring = checkNone || count - pendingN >= o.cap;
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
          else {
            sure = v.check!(id);
            checked++;
          }
        }
      }
      if (!sure) continue;
    }
    const ex = exclusion(excluded, id);
    if (ex === EXCLUDED) continue;
    if (ex === UNSURE) unknown = true;
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
  const { ids, bounds, exact, n } = rankGroups(
    { hitIds, group, sizes, h, exactIds, exactScores },
    count,
    ITEM_GROUPS,
    idf,
    // A group's most: its frequency below (g + 1) / 4 (the last group open-ended).
    (g) => (g === ITEM_GROUPS - 1 ? Infinity : (g + 1) / 4),
    (id) => tfs[id]!,
    o,
  );
  return { pass: 'item', ids, bounds, exact, n, hits: count, pendingN, papers, checked };
}

/**
 * Whether at least the cap's worth of candidates are hits by the tables
 * alone (a variant other than a phrase to check settles them, the passage's
 * kind known, the filters passed), looking only as far as it takes to find
 * that many.
 */
function settledReach(cands: Int32Array, flags: Uint8Array, accept: ((id: number) => boolean) | null, o: PlainPassOptions): boolean {
  const cap = o.cap;
  if (!(cap < cands.length)) return false;
  let settled = 0;
  for (let c = 0; c < cands.length; c++) {
    const id = cands[c]!;
    if ((flags[id]! & (SURE | UNKNOWN)) !== SURE || o.src.kindOf(id) === undefined) continue;
    if (accept !== null && !accept(id)) continue;
    if (++settled >= cap) return true;
  }
  return false;
}

/** {@link rankGroups}'s first room for the entries it keeps (grown as needed, up to every hit). */
const KEPT_FIRST = 1024;

/**
 * Scratch by hit for the counting and grouping passes: each hit's group and
 * id in counting order, then the ids in group order. Kept between queries
 * (a pass runs to its end before another starts) rather than allocated for
 * every query: a frequent word's or an expansion's tens of thousands of hits
 * made each query allocate and zero up to a megabyte, and collect it after.
 */
const scratchFor = reusable(
  (size) => ({ group: new Uint8Array(size), hitIds: new Int32Array(size), byGroup: new Int32Array(size) }),
  (s) => s.group.length,
);

/** Hits counted into groups by frequency, and those scored exactly instead. */
interface Grouped {
  /** Hit ids in counting order, and each one's group. */
  hitIds: Int32Array;
  group: Uint8Array;
  /** How many hits each group holds. */
  sizes: Int32Array;
  /** How many of `hitIds` are used. */
  h: number;
  exactIds: number[];
  exactScores: number[];
}

/**
 * The shared second half of {@link oneWordPass} and {@link itemPass}: the
 * exactly scored hits first, then the grouped hits bounded group by group
 * from the most frequent down (as strictBound bounds them), until the
 * want-th best exact score beats the most the next group can score (its
 * frequency `groupTf` at the shortest length, the largest prior and the
 * title boost).
 */
function rankGroups(
  gr: Grouped,
  size: number,
  groups: number,
  idf: number,
  groupTf: (g: number) => number,
  hitTf: (id: number, g: number) => number,
  o: PlainPassOptions,
): { ids: Int32Array; bounds: Float64Array; exact: Uint8Array; n: number } {
  const { ctx, src } = o;
  const { hitIds, group, sizes, h, exactIds, exactScores } = gr;
  // Hits in descending group order (a counting sort).
  const starts = new Int32Array(groups + 1);
  for (let g = groups - 1; g >= 0; g--) starts[g] = starts[g + 1]! + sizes[g]!;
  // starts[g] is now where group g ends (counting from the most frequent); make it where it begins.
  for (let g = 0; g < groups; g++) starts[g] = starts[g]! - sizes[g]!;
  const byGroup = scratchFor(h).byGroup;
  const fill = starts.slice();
  for (let i = 0; i < h; i++) byGroup[fill[group[i]!]!++] = hitIds[i]!;

  // Sized for what is kept, not for every hit: a frequent word keeps a few hundred of tens of thousands.
  let ids = new Int32Array(Math.min(size, KEPT_FIRST));
  let bounds = new Float64Array(ids.length);
  let exact = new Uint8Array(ids.length);
  const room = (): void => {
    if (n < ids.length) return;
    const more = Math.min(size, ids.length * 2);
    ids = grow(ids, new Int32Array(more));
    bounds = grow(bounds, new Float64Array(more));
    exact = grow(exact, new Uint8Array(more));
  };
  let n = 0;
  for (let i = 0; i < exactIds.length; i++) {
    room();
    ids[n] = exactIds[i]!;
    bounds[n] = exactScores[i]!;
    exact[n++] = 1;
  }
  const prune = o.mayPrune(size);
  const reach = o.reach;
  const want = o.want;
  const least = leastLengthNorm();
  /** The want-th best exact score known (-Infinity until want are known). */
  let floorScore = -Infinity;
  for (let g = groups - 1; g >= 0; g--) {
    if (sizes[g] === 0) continue;
    if (prune && floorScore > -Infinity) {
      // The most a passage of this group can score (the open-ended group: BM25's limit).
      const tf = groupTf(g);
      const most = (tf === Infinity ? idf * (K1 + 1) : (idf * (tf * (K1 + 1))) / (tf + least)) * MOST_PRIOR * TITLE_BOOST * SLACK * SLACK;
      if (most * reach < floorScore) break;
    }
    for (let i = starts[g]!, end = starts[g]! + sizes[g]!; i < end; i++) {
      const id = byGroup[i]!;
      const tf = hitTf(id, g);
      const norm = lengthNorm(id, ctx);
      // As strictBound bounds it.
      let score = tf > 0 ? (idf * (tf * (K1 + 1))) / (tf + norm) : 0;
      score *= priorBound(src.kindOf(id)!, id, src);
      if (o.titleOf(id)) score *= TITLE_BOOST;
      score *= SLACK;
      if (prune && score * reach < floorScore) continue;
      room();
      ids[n] = id;
      bounds[n] = score;
      exact[n++] = 0;
    }
    if (prune && n >= want) floorScore = wantth(ids, bounds, exact, n, want, o);
  }
  return { ids, bounds, exact, n };
}
