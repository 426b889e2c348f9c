/**
 * The types the ranking passes between its stages: what it reads from the
 * corpus, what a search asks for, a query compiled for scoring, and a hit.
 * Kept apart from the modules that make and read them (rank-compile.ts,
 * rank-score.ts, rank-spans.ts, rank.ts), so each of those can import them
 * without an import cycle.
 */
import type { Passage, Span } from '../core/types.js';
import type { AnalyzedToken } from './analyze.js';
import type { Variant } from './compile.js';
import type { PassageIndex } from './index.js';
import type { QueryItem } from './query.js';
import type { IdSet } from './idset.js';

/** What the ranking stage needs from the corpus. */
export interface SearchSource {
  index: PassageIndex;
  /** A passage by id. */
  passage(id: number): Passage | undefined;
  /** Every passage, in document order. */
  passages(): Iterable<Passage>;
  /** The passage's analysed tokens (index mode), offsets in document coordinates. */
  tokens(id: number): AnalyzedToken[];
  /** Analysed tokens (index mode) of a document's title, for title boosts. */
  titleTokens(docId: string): AnalyzedToken[];
  /** Cross-lingual equivalents of a term or phrase as typed: text to search and the glossary term shown as `via`. */
  expansions(text: string): { text: string; via: string }[];
  /** Where a (normalised) Chinese run stands in the passage's normalised text, in document offsets. */
  runs(id: number, run: string): Span[];
  /** Whether the passage is a footnote that only cites a source (see `readsAsCitation` in segment.ts). */
  citesOnly(id: number): boolean;
  /**
   * The ids of the passages of the section a heading opens (those of its
   * paper under that heading, not headings themselves), or none when `id` is
   * no heading; none too while a backend still fetches them (it ranks again
   * once it has them, as for any passage it lacks).
   */
  sectionPassages(id: number): readonly number[];
}

/** Options of one search. */
export interface RankOptions {
  /** Use the glossary to add the other language's terms (default true). */
  expand?: boolean;
  /** Only passages for which this returns true (the annotation layer's tag:/note: filters). */
  restrict?: (p: Passage) => boolean;
  /**
   * `auto` (default): strict, unless strict matching is thin or the query
   * reads as a question, then best match (see `best-match.ts`). `strict`:
   * every word in every hit, always (what the benchmark's baselines compute).
   * `best`: best match whatever strict matching finds (the near matches of a
   * short strict result, see `NEAR_BELOW` in search-contract.ts).
   */
  match?: 'auto' | 'strict' | 'best';
  /**
   * The top-k path's cap on exact totals (default `EXACT_TOTAL_UP_TO` in
   * rank-top.ts): above it, a total may be reported as "at least N".
   */
  exactTotalUpTo?: number;
}

/** A passage that matched, with its score. */
export interface RankedHit {
  passage: Passage;
  score: number;
}

/** A query item after analysis. */
export interface CompiledItem {
  item: QueryItem;
  variants: Variant[];
  /** Passages the item's variants may match (unverified); the item's document frequency for BM25. */
  df: number;
}

/** How the hits were matched. */
export type MatchMode = 'strict' | 'best';

/** What scoring one query needs, shared by the strict and the best-match pass. */
export interface Context {
  src: SearchSource;
  pool: Map<Variant, IdSet>;
  accept: (p: Passage) => boolean;
  excluded: CompiledItem[];
  n: number;
  avg: number;
  /** Add the bag-of-words variants of multi-word translations (not in strict mode: the baselines have none). */
  bags?: boolean;
  /** Add a word's derived forms (best match's optional words only; see `derivedForms` in compile.ts). */
  derive?: boolean;
}

/** A word group of a best-match query, compiled. */
export interface CompiledGroup {
  ci: CompiledItem;
  covers: number[];
}

/** A best-match query compiled (see `loosen` in best-match.ts). */
export interface CompiledLoose {
  /** Clauses that must still hold. */
  required: CompiledItem[][];
  /** The optional words, in `loosen`'s order (groups refer to them by index). */
  words: CompiledItem[];
  groups: CompiledGroup[];
  /**
   * Each word's count toward "how much of the query": its idf over the mean
   * idf of the query's words, so the shares still add up to the number of
   * words. Holding the rare, specific words of a question (`selected`,
   * `evaluated`) says more than holding its common ones (`village`,
   * `support`), which most passages of a paper on the topic hold anyway.
   */
  rarity: number[];
}
