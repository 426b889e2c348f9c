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
export const INDEX_FORMAT_VERSION = 2;

const splitTerms = (s: string): string[] => (s === '' ? [] : s.split(' '));

/** Terms → passage ids, with the statistics ranking needs. */
export class PassageIndex {
  private readonly fx = new Index({ tokenize: 'strict', encode: splitTerms, resolution: 1, fastupdate: true });
  /** Token count of each indexed passage, by passage id. */
  private readonly lengths = new Map<number, number>();
  private totalLength = 0;

  /**
   * Index a passage under its terms.
   * @param id - the passage's numeric id
   * @param terms - the passage's analysed terms (duplicates allowed)
   * @param length - number of word positions in the passage, for length normalisation
   */
  add(id: number, terms: Iterable<string>, length: number): void {
    if (this.lengths.has(id)) this.remove(id);
    this.fx.add(id, [...new Set(terms)].join(' '));
    this.lengths.set(id, length);
    this.totalLength += length;
  }

  /** Drop a passage from the index; unknown ids are ignored. */
  remove(id: number): void {
    const len = this.lengths.get(id);
    if (len === undefined) return;
    this.fx.remove(id);
    this.lengths.delete(id);
    this.totalLength -= len;
  }

  /** Ids of every passage that contains the term. */
  lookup(term: string): number[] {
    if (term === '' || term.includes(' ')) return [];
    return this.fx.search(term, { limit: Number.MAX_SAFE_INTEGER }) as number[];
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
