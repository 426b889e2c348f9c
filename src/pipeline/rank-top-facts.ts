/**
 * What the top-k ranking reads of a query and a corpus without reading
 * passages: the source it ranks from ({@link TopSource}), its result, and
 * each variant's facts from the frequency tables ({@link factsOf}), with the
 * bound of its frequency in a passage ({@link variantBound}). Shared by the
 * strict passes (rank-top.ts, rank-top-plain.ts, rank-top-groups.ts) and best
 * match's (rank-top-best.ts).
 */
import type { Lang, MatchSpan, Passage, PassageKind } from '../core/types.js';
import type { Variant } from './compile.js';
import { IdSet } from './idset.js';
import type { MatchMode, RankedHit, SearchSource } from './rank-types.js';
import { BAG_WEIGHT, EXPANSION_WEIGHT, MID_WORD_WEIGHT } from './rank-score.js';
import { wordTf } from './rank-spans.js';

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
 * Hits per paper, counted by document number in a typed array: one
 * increment per hit, where a record keyed by the paper's id string cost a
 * property lookup by string for each of tens of thousands of hits.
 */
export class PaperCounts {
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
export function perPaper(src: TopSource, answer: (docId: string) => boolean): (id: number) => boolean {
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
export const SLACK = 1 + 1e-9;

/** What the cheap pass knows of one variant. */
export interface VariantFacts {
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

export function factsOf(v: Variant, set: IdSet, tableOf: (term: string) => Uint16Array, src: SearchSource): VariantFacts {
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
export function variantBound(f: VariantFacts, id: number): number {
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
export function presentUnbounded(f: VariantFacts, id: number): boolean {
  return f.shape === 'word' || (f.shape === 'run-word' && (f.chars === 1 || f.tables[0]![id] === 0xffff));
}

/** A clause's items' facts, and whether a hit may lack it (see `isOptional` in rank-score.ts). */
export type ClauseFacts = ItemFacts[] & { optional?: boolean };

/** An item's variants' facts, and its idf. */
export interface ItemFacts {
  variants: VariantFacts[];
  idf: number;
}

/** `strictBound` (rank-top.ts) and `bestBound`'s answer: the candidate is certainly not a hit. */
export const NO_HIT = -1;

/**
 * Whether a phrase variant of the items that the tables could not settle holds in the passage.
 * (Loops rather than nested `some` callbacks: the counting pass asks this of tens of thousands of candidates.)
 */
export function passesCheck(items: ItemFacts[], id: number): boolean {
  for (const item of items) for (const f of item.variants) if (f.check !== undefined && f.set.has(id) && f.check(id)) return true;
  return false;
}

/** Whether the passage is a candidate of a phrase variant of the items, still to be checked. */
export function awaitsCheck(items: ItemFacts[], id: number): boolean {
  for (const item of items) for (const f of item.variants) if (f.check !== undefined && f.set.has(id)) return true;
  return false;
}

/**
 * A pass's scratch arrays, kept between queries and grown (at least doubling)
 * when a query needs more: the function returned, given `n`, gives arrays
 * of at least `n` entries, the same ones as the last call whenever they are
 * long enough. A pass runs
 * to its end before another starts, so one set serves every query.
 * @param make - the arrays for `size` entries
 * @param lengthOf - how many entries the arrays hold
 */
export function reusable<T>(make: (size: number) => T, lengthOf: (arrays: T) => number): (n: number) => T {
  let kept = make(0);
  return (n) => {
    if (lengthOf(kept) < n) kept = make(Math.max(n, lengthOf(kept) * 2));
    return kept;
  };
}

/** `from` copied into the start of the larger `to`: a typed array grown. */
export function grow<T extends Int32Array | Float64Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
