/**
 * Index stage: a FlexSearch inverted index from analysed terms to numeric
 * passage ids, plus the per-passage lengths BM25 needs.
 *
 * FlexSearch's own encoders would undo duikou's analysis (its default encoder
 * makes a whole Chinese run one term; its CJK charset splits every character,
 * Latin too), so it is handed terms the analyzer already made, joined by
 * spaces, and an encoder that only splits them again. Text stays out of the
 * index: it maps terms to ids and nothing else.
 */
import { Index } from 'flexsearch';

/** Version of everything that decides what the index holds; a persisted index of another version is rebuilt. */
export const INDEX_FORMAT_VERSION = 4;

const splitTerms = (s: string): string[] => (s === '' ? [] : s.split(' '));

/**
 * Terms → passage ids, with the statistics ranking needs: each passage's
 * length, and how often each of its terms occurs in it. Term frequencies are
 * kept per passage as one packed array of (term number, count) pairs sorted by
 * term number, so ranking a frequent term reads a number per candidate
 * instead of re-analysing the candidate's text.
 */
export class PassageIndex {
  private readonly fx = new Index({ tokenize: 'strict', encode: splitTerms, resolution: 1, fastupdate: true });
  /** Token count of each indexed passage, by passage id. */
  private readonly lengths = new Map<number, number>();
  private totalLength = 0;
  /** Every term seen, numbered. */
  private readonly termIds = new Map<string, number>();
  /** Per passage: [termId, count, termId, count, …] sorted by termId. */
  private readonly freqs = new Map<number, Uint32Array>();

  /**
   * Index a passage under its terms.
   * @param id - the passage's numeric id
   * @param terms - the passage's distinct analysed terms
   * @param counts - how often each term occurs (same order as `terms`; 1 each when omitted)
   * @param length - number of word positions in the passage, for length normalisation
   */
  add(id: number, terms: readonly string[], counts: readonly number[] | undefined, length: number): void {
    if (this.lengths.has(id)) this.remove(id);
    this.fx.add(id, terms.join(' '));
    this.lengths.set(id, length);
    this.totalLength += length;
    const pairs: Array<[number, number]> = terms.map((t, i) => {
      let n = this.termIds.get(t);
      if (n === undefined) {
        n = this.termIds.size;
        this.termIds.set(t, n);
      }
      return [n, counts?.[i] ?? 1];
    });
    pairs.sort((a, b) => a[0] - b[0]);
    const packed = new Uint32Array(pairs.length * 2);
    pairs.forEach(([n, c], i) => {
      packed[2 * i] = n;
      packed[2 * i + 1] = c;
    });
    this.freqs.set(id, packed);
  }

  /** Drop a passage from the index; unknown ids are ignored. */
  remove(id: number): void {
    const len = this.lengths.get(id);
    if (len === undefined) return;
    this.fx.remove(id);
    this.lengths.delete(id);
    this.freqs.delete(id);
    this.totalLength -= len;
  }

  /** Ids of every passage that contains the term. */
  lookup(term: string): number[] {
    if (term === '' || term.includes(' ')) return [];
    // FlexSearch only splits on spaces here, so biword terms (`a|b`) are looked up whole.
    return this.fx.search(term, { limit: Number.MAX_SAFE_INTEGER }) as number[];
  }

  /** How often `term` occurs in passage `id` (0 when it does not). */
  frequency(id: number, term: string): number {
    const n = this.termIds.get(term);
    const packed = this.freqs.get(id);
    if (n === undefined || !packed) return 0;
    let lo = 0;
    let hi = packed.length / 2 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = packed[2 * mid]!;
      if (v === n) return packed[2 * mid + 1]!;
      if (v < n) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** Number of indexed passages. */
  get size(): number {
    return this.lengths.size;
  }

  /** Mean passage length in word positions (1 for an empty index, so divisions stay finite). */
  get averageLength(): number {
    return this.lengths.size === 0 ? 1 : Math.max(1, this.totalLength / this.lengths.size);
  }

  /** Word positions of one passage (0 when not indexed). */
  lengthOf(id: number): number {
    return this.lengths.get(id) ?? 0;
  }
}
