/**
 * The read side of the passage index: which passages a term or bigram is
 * listed under, how often a term or biword occurs in a passage, and the
 * statistics BM25 needs. The query path calls these in loops over every
 * candidate, so they stay methods reading the index's fields directly (see
 * index-state.ts), and copy a posting list only where the persisted one
 * cannot be handed out as it is.
 */
import { biwordKey, isBiword } from './term-keys.js';
import { IndexState, PENDING, SLOTS, STALE_BASE, STALE_FX } from './index-state.js';

const EMPTY_IDS = new Int32Array(0);

/**
 * The read side of a {@link PassageIndex}, over {@link IndexState}; exported
 * only for the index's own modules (see index-state.ts). Its public
 * methods are part of PassageIndex's public API.
 */
export abstract class IndexReader extends IndexState {
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

  /**
   * Whether any indexed passage is listed under the (single) term or bigram:
   * {@link lookup} has ids, without copying them (a common word's list holds
   * a good part of the corpus). Stops at the first live posting.
   */
  occurs(term: string): boolean {
    if (term === '' || term.includes(' ') || isBiword(term)) return false;
    const base = this.base;
    const t = base?.terms.get(term);
    if (t !== undefined) {
      const end = base!.start[t + 1]!;
      for (let i = base!.start[t]!; i < end; i++) if (this.staleBase === 0 || !(this.flags[base!.ids[i]!]! & STALE_BASE)) return true;
    }
    const fx = this.fxSlots(term);
    if (fx) {
      for (const list of fx) {
        if (!list) continue;
        for (let i = 0; i < list.length; i++) if (this.pendingFx.size === 0 || !(this.flags[list[i]!]! & STALE_FX)) return true;
      }
    }
    return false;
  }

  /** {@link lookup}, as the typed array it is. */
  private postings(term: string): Int32Array {
    return this.live(term)?.ids ?? EMPTY_IDS;
  }

  /**
   * The live postings of a single term with each one's slot, slot by slot
   * (in each slot the persisted ones first: they have the lower ids), or
   * undefined for a term with none.
   */
  private live(term: string): { ids: Int32Array; slots: Uint8Array } | undefined {
    const n = this.listedCount(term);
    if (n === 0) return undefined;
    // A term listed only in the persisted postings, none of them stale (the usual case after a
    // restart): its list as it stands there, without a copy. Callers only read lists.
    const base = this.base;
    const t = base?.terms.get(term);
    if (t !== undefined && this.staleBase === 0 && n === base!.start[t + 1]! - base!.start[t]!) {
      return {
        ids: base!.ids.subarray(base!.start[t]!, base!.start[t + 1]!),
        slots: base!.slots.subarray(base!.start[t]!, base!.start[t + 1]!),
      };
    }
    const ids = new Int32Array(n);
    const slots = new Uint8Array(n);
    const end = this.writeLive(term, ids, slots, 0);
    if (end === 0) return undefined;
    return { ids: ids.subarray(0, end), slots: slots.subarray(0, end) };
  }

  /** How many postings a single term has listed, stale ones included (0 for none). */
  protected listedCount(term: string): number {
    if (term === '' || term.includes(' ') || isBiword(term)) return 0;
    let n = 0;
    const t = this.base?.terms.get(term);
    if (t !== undefined) n += this.base!.start[t + 1]! - this.base!.start[t]!;
    const fx = this.fxSlots(term);
    if (fx) for (const s of fx) if (s) n += s.length;
    return n;
  }

  /**
   * Write the live postings of a single term, with their slots, into `ids`
   * and `slots` from `at`, slot by slot (in each slot the persisted ones
   * first: they have the lower ids).
   * @returns where the next term's postings go
   */
  protected writeLive(term: string, ids: Int32Array, slots: Uint8Array, at: number): number {
    const fx = this.fxSlots(term);
    const base = this.base;
    const t = base?.terms.get(term);
    const flags = this.flags;
    const skipFx = this.pendingFx.size > 0;
    const skipBase = this.staleBase > 0;
    let b = t === undefined ? 0 : base!.start[t]!;
    const bEnd = t === undefined ? 0 : base!.start[t + 1]!;
    let n = at;
    for (let s = 0; s < SLOTS; s++) {
      for (; b < bEnd && base!.slots[b] === s; b++) {
        const id = base!.ids[b]!;
        if (skipBase && flags[id]! & STALE_BASE) continue;
        ids[n] = id;
        slots[n++] = s;
      }
      const list = fx?.[s];
      if (!list) continue;
      for (let i = 0; i < list.length; i++) {
        const id = list[i]!;
        if (skipFx && flags[id]! & STALE_FX) continue;
        ids[n] = id;
        slots[n++] = s;
      }
    }
    return n;
  }

  /**
   * How often the (single) term occurs as a word in each passage, by passage
   * id (0 where it does not), read from its posting list's slots: what
   * {@link frequency} answers for one passage, for all of them at once.
   */
  termFrequencies(term: string): Uint16Array {
    return this.termPostings(term).frequencies;
  }

  /**
   * A single term's posting list ({@link lookup}) and its frequency table
   * ({@link termFrequencies}) from one copy of the list: a query's one-word
   * variant needs both, and copying a frequent word's list twice was a
   * tenth of its query.
   */
  termPostings(term: string): { ids: Int32Array; frequencies: Uint16Array } {
    const tf = new Uint16Array(this.lengths.length);
    const l = this.live(term);
    if (!l) return { ids: EMPTY_IDS, frequencies: tf };
    const { ids, slots } = l;
    for (let i = 0; i < ids.length; i++) {
      const s = slots[i]!;
      if (s === 0) continue;
      tf[ids[i]!] = s < SLOTS - 1 ? s : Math.min(0xffff, this.frequency(ids[i]!, term));
    }
    return { ids, frequencies: tf };
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
    this.readBigrams();
    const out = new Set(this.lookup(c));
    for (const b of this.bigramsByChar.get(c) ?? []) for (const id of this.lookup(b)) out.add(id);
    return [...out];
  }

  /** How often `term` (a single term or a biword) occurs in passage `id` (0 when it does not). */
  frequency(id: number, term: string): number {
    const k = this.lookupKey(term);
    const len = this.freqLen[id] ?? 0;
    if (!k || len === 0) return 0;
    let packed = this.chunks[this.freqChunk[id]!]!;
    let base = this.freqOff[id]!;
    if (packed === PENDING) {
      packed = this.deferredTriplesOf(id, base, len);
      base = 0;
    }
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

  /**
   * Passage `id`'s `len` triples from the file while they are not in memory
   * (see `deferred` in index-state.ts): ranking asks for a few terms of the same
   * passage in a row, so the last passage read is kept.
   */
  private deferredTriplesOf(id: number, off: number, len: number): Uint32Array {
    if (this.deferredId !== id) {
      if (this.deferredScratch.length < len * 3) this.deferredScratch = new Uint32Array(Math.max(len * 3, 2 * this.deferredScratch.length));
      this.deferred!.readInto(this.deferredScratch, off, len * 3);
      this.deferredId = id;
    }
    return this.deferredScratch;
  }

  /**
   * The packed key of a term: a single term's number (and 0), or a biword's
   * two independent 31-bit hashes with the top bit set, so the two kinds never
   * meet and a chance collision needs both hashes to agree (about 1 in 2^62).
   */
  private key(term: string): [number, number] | undefined {
    if (isBiword(term)) return biwordKey(term);
    const n = this.termIds.get(term);
    return n === undefined ? undefined : [n, 0];
  }

  /** {@link key} for a lookup, remembered: ranking asks for the same few terms once per candidate. */
  private lookupKey(term: string): [number, number] | undefined {
    if (this.keyCache.has(term)) return this.keyCache.get(term);
    if (this.keyCache.size >= 4096) this.keyCache.clear();
    const k = this.key(term);
    this.keyCache.set(term, k);
    return k;
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
