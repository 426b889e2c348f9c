/**
 * What the lab server's search keeps between queries: posting lists, strict
 * candidates, passages and titles for one index generation, and papers'
 * texts until their hash changes.
 */
import { LRUCache } from 'lru-cache';
import type { Passage } from '../../core/types.js';
import { type AnalyzedToken, analyze } from '../../pipeline/analyze.js';

/** Document text kept between queries, in UTF-16 units (about twice as many bytes). */
const TEXT_CACHE_CHARS = 100_000_000;
/** Analysed passages kept between queries (as the embedded engine's token cache). */
export const STATS_CACHE_SIZE = 20_000;
/** Passage ids of posting lists kept between queries, all lists together (about 8 bytes each). */
const POSTINGS_CACHE_IDS = 4_000_000;
/** Passages (their place, kind and pieces) kept between queries. */
const PASSAGE_CACHE_SIZE = 100_000;
/** Papers' titles kept analysed between queries (a title of 15 words is about 2 KB of tokens). */
const TITLE_CACHE_SIZE = 20_000;

/**
 * A term's posting list: passage ids, ascending, and for each the term's
 * frequency read from the stored positions (-1 where they do not give it);
 * no frequencies for a character's list.
 */
export interface Posting {
  ids: number[];
  tf: Int32Array | null;
}

/** A passage's analysis: its tokens, its length in word positions, and its term and biword frequencies. */
export interface PassageStats {
  length: number;
  freq: Map<string, number>;
  toks: AnalyzedToken[];
}

/**
 * A plan's strict candidates as ranking reads them (kept between queries):
 * ids ascending, with each one's passage and length, and per term or biword
 * its count in each (aligned with the ids; -1 where positions do not count it).
 */
export interface Candidates {
  ids: number[];
  passages: Passage[];
  words: number[];
  docIds: string[];
  counts: Map<string, Int32Array>;
}

/**
 * What queries read from the index and the next query may read again,
 * valid for one index generation (`search_totals.generation`, bumped by
 * every write, read by each query in the statement it needs anyway): posting
 * lists and documents' titles and hashes. Passages are kept across
 * generations: a passage id is never reused, and a paper indexed again gets
 * new ones.
 */
export class IndexCache {
  private generation = '';
  private readonly postings = new Map<string, Posting>();
  private postingIds = 0;
  private readonly docs = new Map<string, { title: string; hash: string }>();
  private readonly passages = new Map<number, { passage: Passage; words: number }>();
  /** Posting lists as ids only (plan mode), under the same budget as {@link postings}. */
  private readonly idLists = new Map<string, number[]>();
  /** Strict candidates by their statement's parameters (plan mode), at most an eighth of {@link POSTINGS_CACHE_IDS} in all. */
  private readonly candidateRows = new Map<string, Candidates>();
  private candidateCount = 0;

  /** Start a query at `generation`: what was kept for another one is dropped. */
  at(generation: string): void {
    if (generation === this.generation) return;
    this.generation = generation;
    this.postings.clear();
    this.idLists.clear();
    this.postingIds = 0;
    this.docs.clear();
    this.candidateRows.clear();
    this.candidateCount = 0;
  }

  /** Whether answers read at `generation` may still be kept. */
  current(generation: string): boolean {
    return generation === this.generation;
  }

  posting(term: string): Posting | undefined {
    return this.postings.get(term);
  }

  setPosting(generation: string, term: string, posting: Posting): void {
    if (!this.current(generation)) return;
    if (this.postingIds + posting.ids.length > POSTINGS_CACHE_IDS) {
      this.postings.clear();
      this.idLists.clear();
      this.postingIds = 0;
    }
    this.postings.set(term, posting);
    this.postingIds += posting.ids.length;
  }

  /** A term's passage ids: from a posting list kept with its frequencies, or one kept as ids only. */
  idList(term: string): number[] | undefined {
    return this.postings.get(term)?.ids ?? this.idLists.get(term);
  }

  setIdList(generation: string, term: string, ids: number[]): void {
    if (!this.current(generation)) return;
    if (this.postingIds + ids.length > POSTINGS_CACHE_IDS) {
      this.postings.clear();
      this.idLists.clear();
      this.postingIds = 0;
    }
    this.idLists.set(term, ids);
    this.postingIds += ids.length;
  }

  candidates(key: string): Candidates | undefined {
    return this.candidateRows.get(key);
  }

  setCandidates(generation: string, key: string, found: Candidates): void {
    if (!this.current(generation)) return;
    if (this.candidateCount + found.ids.length > POSTINGS_CACHE_IDS / 8) {
      this.candidateRows.clear();
      this.candidateCount = 0;
    }
    this.candidateRows.set(key, found);
    this.candidateCount += found.ids.length;
  }

  doc(id: string): { title: string; hash: string } | undefined {
    return this.docs.get(id);
  }

  setDoc(generation: string, id: string, d: { title: string; hash: string }): void {
    if (this.current(generation)) this.docs.set(id, d);
  }

  /**
   * A paper's title as the analyzer reads it, kept between queries and across
   * generations (a changed title is another key): every query asks each hit's
   * paper whether its title mentions the query (the title boost), and analysing
   * the title again each time took about 80 µs per paper, 70 ms for a frequent
   * word over 842 papers.
   */
  titleTokens(title: string): AnalyzedToken[] {
    return this.titles.memo(title);
  }

  private readonly titles = new LRUCache<string, AnalyzedToken[]>({
    max: TITLE_CACHE_SIZE,
    memoMethod: (title) => analyze(title, 'index'),
  });

  /**
   * Whether passage `id`'s Han runs survive normalisation (`hanLayer`'s
   * `stable`: a Chinese run is then found in its text as typed), worked out
   * once by `compute` and kept across generations, as a passage id is never
   * reused: a Chinese run found inside longer words is looked for in every
   * such candidate's text, and working this out read the whole passage each time.
   */
  hanStable(id: number, compute: () => boolean): boolean {
    return this.stable.memo(id, { context: compute });
  }

  private readonly stable = passageFacts();

  /**
   * Whether footnote `id` only cites a source (`readsAsCitation`), worked out
   * once by `compute` and kept as {@link hanStable} is: its prior is asked for
   * by every bound and score of the footnote in every query.
   */
  citesOnly(id: number, compute: () => boolean): boolean {
    return this.cites.memo(id, { context: compute });
  }

  private readonly cites = passageFacts();

  passage(id: number): { passage: Passage; words: number } | undefined {
    return this.passages.get(id);
  }

  setPassage(id: number, e: { passage: Passage; words: number }): void {
    if (this.passages.size >= PASSAGE_CACHE_SIZE) {
      // The oldest tenth goes at once, so filling a full cache does not drop one entry per passage.
      let n = PASSAGE_CACHE_SIZE / 10;
      for (const k of this.passages.keys()) {
        if (n-- <= 0) break;
        this.passages.delete(k);
      }
    }
    this.passages.set(id, e);
  }
}

/** A yes/no fact per passage id, worked out by the function each lookup brings (its context) on a miss. */
function passageFacts(): LRUCache<number, boolean, () => boolean> {
  return new LRUCache<number, boolean, () => boolean>({
    max: PASSAGE_CACHE_SIZE,
    memoMethod: (_id, _stale, { context }) => context(),
  });
}

/**
 * Texts kept between queries, at most {@link TEXT_CACHE_CHARS} UTF-16 units,
 * the least recently used dropped first (a text larger than the whole bound
 * is not kept).
 */
export class TextCache {
  private readonly map: LRUCache<string, { hash: string; text: string }>;

  /** @param maxChars - UTF-16 units kept at most */
  constructor(maxChars = TEXT_CACHE_CHARS) {
    // lru-cache wants positive sizes: an empty text counts as one unit.
    this.map = new LRUCache({ maxSize: maxChars, sizeCalculation: (e) => Math.max(1, e.text.length) });
  }

  /** UTF-16 units of the texts kept now. */
  get chars(): number {
    return this.map.calculatedSize;
  }

  /** The text of `id` if it is kept at `hash`. */
  get(id: string, hash: string): string | undefined {
    const e = this.map.get(id);
    return e?.hash === hash ? e.text : undefined;
  }

  /** Keep `text` as `id`'s text at `hash` (replacing another version's). */
  set(id: string, hash: string, text: string): void {
    this.map.set(id, { hash, text });
  }
}
