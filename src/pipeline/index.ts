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
export const INDEX_FORMAT_VERSION = 5;

const splitTerms = (s: string): string[] => (s === '' ? [] : s.split(' '));

/**
 * Terms → passage ids, with the statistics ranking needs: each passage's
 * length, and how often each of its terms — and each of its biwords (two
 * words standing together, `a|b` / `a~b`) — occurs in it.
 *
 * FlexSearch holds the single terms only. Biwords are many and each is rare,
 * and an inverted list per biword would cost more memory and indexing time
 * than the text itself; instead each passage keeps its term and biword
 * frequencies in one packed, sorted array, so a phrase is found by
 * intersecting its words' lists in FlexSearch and checking the passages'
 * biwords by binary search, without reading any text again.
 */
export class PassageIndex {
  private readonly fx = new Index({ tokenize: 'strict', encode: splitTerms, resolution: 1, fastupdate: true });
  /** Token count of each indexed passage, by passage id. */
  private readonly lengths = new Map<number, number>();
  private totalLength = 0;
  /** Every single term seen, numbered (below 2^31). */
  private readonly termIds = new Map<string, number>();
  /** Per passage: [key1, key2, count, …] triples sorted by (key1, key2). */
  private readonly freqs = new Map<number, Uint32Array>();

  /**
   * Index a passage under its terms.
   * @param id - the passage's numeric id
   * @param terms - the passage's distinct analysed terms and biwords
   * @param counts - how often each occurs (same order as `terms`; 1 each when omitted)
   * @param length - number of word positions in the passage, for length normalisation
   */
  add(id: number, terms: readonly string[], counts: readonly number[] | undefined, length: number): void {
    if (this.lengths.has(id)) this.remove(id);
    this.fx.add(id, terms.filter((t) => !isBiword(t)).join(' '));
    this.lengths.set(id, length);
    this.totalLength += length;
    const triples: Array<[number, number, number]> = terms.map((t, i) => {
      const [k1, k2] = this.key(t, true)!;
      return [k1, k2, counts?.[i] ?? 1];
    });
    triples.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const packed = new Uint32Array(triples.length * 3);
    triples.forEach(([k1, k2, c], i) => {
      packed[3 * i] = k1;
      packed[3 * i + 1] = k2;
      packed[3 * i + 2] = c;
    });
    this.freqs.set(id, packed);
  }

  /**
   * The packed key of a term: a single term's number (and 0), or a biword's
   * two independent 31-bit hashes with the top bit set, so the two kinds never
   * meet and a chance collision needs both hashes to agree (about 1 in 2^62).
   */
  private key(term: string, create = false): [number, number] | undefined {
    if (isBiword(term)) return [(fnv1a(term, 0x811c9dc5) | 0x80000000) >>> 0, fnv1a(term, 0x01000193) >>> 0];
    let n = this.termIds.get(term);
    if (n === undefined) {
      if (!create) return undefined;
      n = this.termIds.size;
      this.termIds.set(term, n);
    }
    return [n, 0];
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

  /** Ids of every passage that contains the (single) term. */
  lookup(term: string): number[] {
    if (term === '' || term.includes(' ') || isBiword(term)) return [];
    return this.fx.search(term, { limit: Number.MAX_SAFE_INTEGER }) as number[];
  }

  /** How often `term` (a single term or a biword) occurs in passage `id` (0 when it does not). */
  frequency(id: number, term: string): number {
    const k = this.key(term);
    const packed = this.freqs.get(id);
    if (!k || !packed) return 0;
    const [k1, k2] = k;
    let lo = 0;
    let hi = packed.length / 3 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const a = packed[3 * mid]!;
      const b = packed[3 * mid + 1]!;
      if (a === k1 && b === k2) return packed[3 * mid + 2]!;
      if (a < k1 || (a === k1 && b < k2)) lo = mid + 1;
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

/** Whether an index term is a biword (see `biword` in analyze.ts). */
function isBiword(term: string): boolean {
  return term.includes('|') || term.includes('~');
}

/** 32-bit FNV-1a over UTF-16 code units, from the given offset basis (31 bits kept). */
function fnv1a(s: string, basis: number): number {
  let h = basis >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff;
}
