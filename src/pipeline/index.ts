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
 *
 * {@link PassageIndex} is built up by concern, one module each (see
 * index-state.ts): its state, the read side (index-read.ts), compaction
 * (index-compact.ts) and the persisted form (index-snapshot.ts). This module
 * adds and removes passages, and is the one callers import.
 */
import { packTerms } from './term-keys.js';
import { type DeferredTriples, IN_FX, SLOTS, STALE_BASE, STALE_FX } from './index-state.js';
import { type IndexSnapshot, SnapshotIndex } from './index-snapshot.js';

export type { CompactStep, DeferredTriples } from './index-state.js';
export type { IndexSnapshot } from './index-snapshot.js';

/** Version of everything that decides what the index holds; a persisted index of another version is rebuilt. */
export const INDEX_FORMAT_VERSION = 9;

/** Above any passage's number of distinct terms: a term's number and its place in the passage share one sort key. */
const ORDER_SPAN = 2 ** 22;

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
export class PassageIndex extends SnapshotIndex {
  /**
   * An index as it was when {@link snapshot} was taken.
   * @param deferred - its triples still on disk (`snap.triples` is then not read): the index
   *   reads a passage's triples from there until {@link loadDeferred} has them all in memory
   */
  static fromSnapshot(snap: IndexSnapshot, deferred?: DeferredTriples): PassageIndex {
    const ix = new PassageIndex();
    ix.readSnapshot(snap, deferred);
    return ix;
  }

  /** Whether triples are still on disk (see {@link fromSnapshot}), read a passage at a time. */
  get triplesOnDisk(): boolean {
    return this.deferred !== null;
  }

  /**
   * Read the triples still on disk (see {@link fromSnapshot}) into memory
   * off the main thread; resolves at once when there are none. Answers are
   * the same before and after.
   */
  async loadDeferred(): Promise<void> {
    const from = this.deferred;
    if (!from) return;
    this.installDeferred(from, await from.load());
  }

  /**
   * Index a passage under its terms.
   * @param id - the passage's numeric id
   * @param terms - the passage's distinct analysed terms and biwords (its single terms only, when `biwords` is given)
   * @param counts - how often each occurs (same order as `terms`; 1 each when omitted)
   * @param length - number of word positions in the passage, for length normalisation
   * @param bigrams - the passage's distinct Han bigrams (looked up, never counted)
   * @param biwords - the passage's biwords already hashed and sorted (see term-keys.ts `packTerms`)
   */
  add(
    id: number,
    terms: readonly string[],
    counts: readonly number[] | undefined,
    length: number,
    bigrams: readonly string[] = [],
    biwords?: Uint32Array,
  ): void {
    // Biwords as sorted, hashed triples: packed here unless the analysis (a worker thread) already did.
    if (biwords === undefined) ({ terms, counts, biwords } = packTerms(terms, counts));
    if (terms.length >= ORDER_SPAN) throw new Error(`a passage of ${terms.length} distinct terms`);
    if (this.has(id)) this.remove(id);
    const listed = new Set(terms);
    const listedWords = listed.size;
    if (bigrams.length > 0) this.readBigrams();
    for (const b of bigrams) {
      listed.add(b);
      this.noteBigram(b);
    }
    // FlexSearch hands the score function each word's place in the text: the words first, distinct and
    // without spaces, are at their own place. Otherwise (never from the analyzer) by a map of the words.
    this.slotWords = terms.length;
    this.slotCounts = counts;
    this.slotNow = null;
    if (listedWords !== terms.length || terms.some((t) => t.includes(' '))) {
      this.slotNow = new Map();
      for (let i = 0; i < terms.length; i++) this.slotNow.set(terms[i]!, Math.min(counts?.[i] ?? 1, SLOTS - 1));
    }
    // Re-added while its old postings still wait for removal: remove them now, before listing the new ones.
    if (this.pendingFx.has(id)) this.spliceOut(id);
    this.fx.add(id, [...listed].join(' '));
    this.slotCounts = undefined;
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
      const flags = new Uint8Array(size);
      flags.set(this.flags);
      this.flags = flags;
    }
    this.flags[id] = this.flags[id]! | IN_FX;
    this.lengths[id] = length;
    this.count++;
    this.totalLength += length;
    // Single terms first, by number (a biword's first key is above every term number), each number's
    // entries in the order given; then the biwords, sorted already.
    const n = terms.length;
    const order = new Float64Array(n);
    for (let i = 0; i < n; i++) order[i] = this.termId(terms[i]!) * ORDER_SPAN + i;
    order.sort();
    const size = n + biwords.length / 3;
    const at = this.room(size * 3);
    const packed = this.chunks[this.chunks.length - 1]!;
    for (let j = 0; j < n; j++) {
      const key = order[j]!;
      const i = key % ORDER_SPAN;
      packed[at + 3 * j] = (key - i) / ORDER_SPAN;
      packed[at + 3 * j + 1] = 0;
      packed[at + 3 * j + 2] = counts?.[i] ?? 1;
    }
    packed.set(biwords, at + 3 * n);
    this.freqChunk[id] = this.chunks.length - 1;
    this.freqOff[id] = at;
    this.freqLen[id] = size;
    this.liveTriples += size;
  }

  /** A single term's number, numbering it when it is new. */
  private termId(term: string): number {
    let n = this.termIds.get(term);
    if (n === undefined) {
      n = this.termIds.size;
      this.termIds.set(term, n);
      // A term that was unknown when a query asked for it is known now.
      this.keyCache.delete(term);
    }
    return n;
  }

  /** Drop a passage from the index; unknown ids are ignored. */
  remove(id: number): void {
    if (!this.has(id)) return;
    const len = this.lengths[id]!;
    // Marked, not spliced out of every posting list it is in (that costs an indexOf and a splice
    // per term): reads skip it, and compactPostings removes it later.
    let f = this.flags[id]!;
    if (f & IN_FX) {
      f |= STALE_FX;
      this.pendingFx.add(id);
    }
    if (this.base && id < this.base.limit && !(f & STALE_BASE)) {
      f |= STALE_BASE;
      this.staleBase++;
    }
    this.flags[id] = f;
    this.lengths[id] = -1;
    this.count--;
    const dead = this.freqLen[id]!;
    this.freqLen[id] = 0;
    this.liveTriples -= dead;
    // Room in a chunk a compaction is emptying goes with the chunk. Reclaimed later, a step at a time (see compactPostings).
    if (this.freqChunk[id]! >= this.firstKeptChunk) this.deadTriples += dead;
    this.totalLength -= len;
  }

  /**
   * Room the index holds for postings and triples, removed passages' included
   * until a compaction drops them: postings listed (persisted and in
   * FlexSearch), and the bytes of the chunks of triples.
   */
  get heldRoom(): { postings: number; tripleBytes: number } {
    let postings = this.base?.ids.length ?? 0;
    for (const slots of this.fxMap().values()) for (const list of slots) postings += list?.length ?? 0;
    let tripleBytes = 0;
    for (const c of this.chunks) tripleBytes += c.byteLength;
    if (this.deferred) tripleBytes += this.deferred.length * 4;
    return { postings, tripleBytes };
  }

  /** Terms with postings in FlexSearch: added since the index was built or last settled (see {@link settleSteps}). */
  get unsettledTerms(): number {
    return this.fxMap().size;
  }
}
