/**
 * Index stage: a FlexSearch inverted index from analysed terms — and the
 * pairs of adjacent Han characters (bigrams) — to numeric passage ids, plus
 * the per-passage lengths and frequencies BM25 needs.
 *
 * FlexSearch's own encoders would undo duikou's analysis (its default encoder
 * makes a whole Chinese run one term; its CJK charset splits every character,
 * Latin too), so it is handed terms the analyzer already made, joined by
 * spaces, and an encoder that only splits them again. Text stays out of the
 * index: it maps terms to ids and nothing else.
 */
import { Index } from 'flexsearch';

/** Version of everything that decides what the index holds; a persisted index of another version is rebuilt. */
export const INDEX_FORMAT_VERSION = 7;

/**
 * FlexSearch resolution slots: a passage is listed in the slot of the term's
 * frequency in it (1…30; 31 for 31 or more, the exact count then read from
 * the passage's frequencies), or in slot 0 when it holds the string only as a
 * Han bigram, not as a word. So a term's posting list carries each passage's
 * frequency, read in list order instead of one binary search per passage.
 */
const SLOTS = 32;

/** Numbers per chunk of packed frequencies (4 MB). */
const CHUNK = 1 << 20;

const EMPTY_IDS = new Int32Array(0);

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
 *
 * The bigram layer (Lucene's CJK bigrams) shares FlexSearch with the words:
 * a passage is listed under each pair of adjacent Han characters it holds,
 * so a two-character word's list also holds the passages where those two
 * characters stand inside a longer word or across a word boundary. Bigrams
 * get no stored frequencies (they would cost more than the text): a Chinese
 * run is found by intersecting its bigrams' lists and, where the words do not
 * already show it, verified on the passage's normalised text.
 */
export class PassageIndex {
  /** The slot of each word of the passage being added (see {@link SLOTS}); FlexSearch asks for it per term. */
  private slotNow = new Map<string, number>();
  private readonly fx = new Index({
    tokenize: 'strict',
    encode: splitTerms,
    resolution: SLOTS,
    fastupdate: true,
    score: (_content, term) => this.slotNow.get(term) ?? 0,
  });
  /** Token count of each indexed passage, by passage id (-1: not indexed). */
  private lengths = new Int32Array(1024).fill(-1);
  /** Number of indexed passages. */
  private count = 0;
  private totalLength = 0;
  /** Every single term seen, numbered (below 2^31). */
  private readonly termIds = new Map<string, number>();
  /**
   * Per passage: [key1, key2, count, …] triples sorted by (key1, key2), packed
   * one passage after another in large chunks (a typed array per passage
   * costs an object and a buffer each, and every frequency lookup then chased
   * two pointers to reach its data). By passage id: the chunk, the offset in
   * it, and the number of triples (0: none).
   */
  private readonly chunks: Uint32Array[] = [];
  private chunkUsed = 0;
  private freqChunk = new Int32Array(1024);
  private freqOff = new Int32Array(1024);
  private freqLen = new Int32Array(1024);
  /** Triples of removed passages still taking room in the chunks. */
  private deadTriples = 0;
  private liveTriples = 0;
  /** The keys of the terms ranking asked for last (a query asks for the same few for every candidate). */
  private readonly keyCache = new Map<string, [number, number] | undefined>();
  /** Every bigram ever indexed, and the same by each of its characters, for single-character lookups. */
  private readonly bigramsSeen = new Set<string>();
  private readonly bigramsByChar = new Map<string, string[]>();

  /**
   * Index a passage under its terms.
   * @param id - the passage's numeric id
   * @param terms - the passage's distinct analysed terms and biwords
   * @param counts - how often each occurs (same order as `terms`; 1 each when omitted)
   * @param length - number of word positions in the passage, for length normalisation
   * @param bigrams - the passage's distinct Han bigrams (looked up, never counted)
   */
  add(id: number, terms: readonly string[], counts: readonly number[] | undefined, length: number, bigrams: readonly string[] = []): void {
    if (this.has(id)) this.remove(id);
    const listed = new Set(terms.filter((t) => !isBiword(t)));
    for (const b of bigrams) {
      listed.add(b);
      if (this.bigramsSeen.has(b)) continue;
      this.bigramsSeen.add(b);
      for (const c of new Set(b)) {
        const list = this.bigramsByChar.get(c);
        if (list) list.push(b);
        else this.bigramsByChar.set(c, [b]);
      }
    }
    this.slotNow = new Map();
    for (const [i, t] of terms.entries()) if (!isBiword(t)) this.slotNow.set(t, Math.min(counts?.[i] ?? 1, SLOTS - 1));
    this.fx.add(id, [...listed].join(' '));
    if (id >= this.lengths.length) {
      const size = Math.max(id + 1, this.lengths.length * 2);
      const grow = (a: Int32Array, fill: number) => {
        const g = new Int32Array(size).fill(fill);
        g.set(a);
        return g;
      };
      this.lengths = grow(this.lengths, -1);
      this.freqChunk = grow(this.freqChunk, 0);
      this.freqOff = grow(this.freqOff, 0);
      this.freqLen = grow(this.freqLen, 0);
    }
    this.lengths[id] = length;
    this.count++;
    this.totalLength += length;
    const triples: Array<[number, number, number]> = terms.map((t, i) => {
      const [k1, k2] = this.key(t, true)!;
      return [k1, k2, counts?.[i] ?? 1];
    });
    triples.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const at = this.room(triples.length * 3);
    const packed = this.chunks[this.chunks.length - 1]!;
    triples.forEach(([k1, k2, c], i) => {
      packed[at + 3 * i] = k1;
      packed[at + 3 * i + 1] = k2;
      packed[at + 3 * i + 2] = c;
    });
    this.freqChunk[id] = this.chunks.length - 1;
    this.freqOff[id] = at;
    this.freqLen[id] = triples.length;
    this.liveTriples += triples.length;
  }

  /** Where `size` more numbers fit in the last chunk (a new chunk when they do not). */
  private room(size: number): number {
    const last = this.chunks[this.chunks.length - 1];
    if (!last || this.chunkUsed + size > last.length) {
      this.chunks.push(new Uint32Array(Math.max(CHUNK, size)));
      this.chunkUsed = 0;
    }
    const at = this.chunkUsed;
    this.chunkUsed += size;
    return at;
  }

  /**
   * Copy the live passages' triples into fresh chunks, dropping the room of
   * removed ones: once that room is more than the live data (replacing
   * papers one by one, a long-running server would otherwise grow without end).
   */
  private compact(): void {
    const old = this.chunks.splice(0);
    this.chunkUsed = 0;
    for (let id = 0; id < this.freqLen.length; id++) {
      const len = this.freqLen[id]!;
      if (len === 0) continue;
      const from = old[this.freqChunk[id]!]!;
      const start = this.freqOff[id]!;
      const at = this.room(len * 3);
      this.chunks[this.chunks.length - 1]!.set(from.subarray(start, start + len * 3), at);
      this.freqChunk[id] = this.chunks.length - 1;
      this.freqOff[id] = at;
    }
    this.deadTriples = 0;
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
      // A term that was unknown when a query asked for it is known now.
      this.keyCache.delete(term);
    }
    return [n, 0];
  }

  /** {@link key} for a lookup, remembered: ranking asks for the same few terms once per candidate. */
  private lookupKey(term: string): [number, number] | undefined {
    if (this.keyCache.has(term)) return this.keyCache.get(term);
    if (this.keyCache.size >= 4096) this.keyCache.clear();
    const k = this.key(term);
    this.keyCache.set(term, k);
    return k;
  }

  /** Drop a passage from the index; unknown ids are ignored. */
  remove(id: number): void {
    if (!this.has(id)) return;
    const len = this.lengths[id]!;
    this.fx.remove(id);
    this.lengths[id] = -1;
    this.count--;
    const dead = this.freqLen[id]!;
    this.freqLen[id] = 0;
    this.liveTriples -= dead;
    this.deadTriples += dead;
    if (this.deadTriples * 3 > CHUNK && this.deadTriples > this.liveTriples) this.compact();
    this.totalLength -= len;
  }

  /** Whether passage `id` is indexed. */
  has(id: number): boolean {
    return (this.lengths[id] ?? -1) >= 0;
  }

  /**
   * Ids of every passage that contains the (single) term, ascending within
   * each frequency slot but not across them (callers that need order sort).
   */
  lookup(term: string): Int32Array | number[] {
    return this.postings(term);
  }

  /** {@link lookup}, as the typed array it is. */
  private postings(term: string): Int32Array {
    const slots = this.slots(term);
    if (!slots) return EMPTY_IDS;
    let n = 0;
    for (const s of slots) if (s) n += s.length;
    const out = new Int32Array(n);
    n = 0;
    for (const s of slots) {
      if (!s) continue;
      out.set(s, n);
      n += s.length;
    }
    return out;
  }

  /** FlexSearch's slots of a single term (see {@link SLOTS}), or undefined. */
  private slots(term: string): Array<number[] | undefined> | undefined {
    if (term === '' || term.includes(' ') || isBiword(term)) return undefined;
    return (this.fx as unknown as { map: Map<string, Array<number[] | undefined>> }).map.get(term);
  }

  /**
   * How often the (single) term occurs as a word in each passage, by passage
   * id (0 where it does not), read from its posting list's slots: what
   * {@link frequency} answers for one passage, for all of them at once.
   */
  termFrequencies(term: string): Uint16Array {
    const tf = new Uint16Array(this.lengths.length);
    const slots = this.slots(term) ?? [];
    for (let s = 1; s < slots.length; s++) {
      const list = slots[s];
      if (!list) continue;
      if (s < SLOTS - 1) for (const id of list) tf[id] = s;
      else for (const id of list) tf[id] = Math.min(0xffff, this.frequency(id, term));
    }
    return tf;
  }

  /** Ids of the passages listed under every one of `terms` (single terms or bigrams; none for an empty list). */
  lookupAll(terms: readonly string[]): ArrayLike<number> & Iterable<number> {
    const lists = [...new Set(terms)].map((t) => this.postings(t)).sort((a, b) => a.length - b.length);
    let out = lists[0];
    if (!out) return [];
    for (const list of lists.slice(1)) {
      if (out.length === 0) break;
      out = intersect(out, list);
    }
    return out;
  }

  /**
   * Ids of every passage holding the Han character `c` anywhere: the passages
   * listed under `c` as a word (a character standing alone), or under any
   * bigram containing it.
   */
  lookupChar(c: string): number[] {
    const out = new Set(this.lookup(c));
    for (const b of this.bigramsByChar.get(c) ?? []) for (const id of this.lookup(b)) out.add(id);
    return [...out];
  }

  /** How often `term` (a single term or a biword) occurs in passage `id` (0 when it does not). */
  frequency(id: number, term: string): number {
    const k = this.lookupKey(term);
    const len = this.freqLen[id] ?? 0;
    if (!k || len === 0) return 0;
    const packed = this.chunks[this.freqChunk[id]!]!;
    const base = this.freqOff[id]!;
    const k1 = k[0];
    const k2 = k[1];
    let lo = 0;
    let hi = len - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const a = packed[base + 3 * mid]!;
      const b = packed[base + 3 * mid + 1]!;
      if (a === k1 && b === k2) return packed[base + 3 * mid + 2]!;
      if (a < k1 || (a === k1 && b < k2)) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** Number of indexed passages. */
  get size(): number {
    return this.count;
  }

  /** Mean passage length in word positions (1 for an empty index, so divisions stay finite). */
  get averageLength(): number {
    return this.count === 0 ? 1 : Math.max(1, this.totalLength / this.count);
  }

  /** Word positions of one passage (0 when not indexed). */
  lengthOf(id: number): number {
    return Math.max(0, this.lengths[id] ?? 0);
  }
}

/**
 * The ids in both lists (in `b`'s order): a bitmap of the smaller list, then
 * one pass over the other. Lists come slot by slot, so they are not in id
 * order, and sorting them cost more than this.
 */
function intersect(a: Int32Array, b: Int32Array): Int32Array {
  let max = 0;
  for (let i = 0; i < a.length; i++) if (a[i]! > max) max = a[i]!;
  const bits = new Uint32Array((max >> 5) + 1);
  for (let i = 0; i < a.length; i++) {
    const w = a[i]! >> 5;
    bits[w] = bits[w]! | (1 << (a[i]! & 31));
  }
  const out = new Int32Array(Math.min(a.length, b.length));
  let n = 0;
  for (let j = 0; j < b.length; j++) {
    const id = b[j]!;
    const w = id >> 5;
    if (w < bits.length && (bits[w]! & (1 << (id & 31))) !== 0) out[n++] = id;
  }
  return out.subarray(0, n);
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
