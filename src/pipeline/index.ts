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
 * {@link PassageIndex} is built up by concern (see index-state.ts): its
 * state, the read side (index-read.ts) and compaction (index-compact.ts);
 * this module adds and removes passages, and writes and reads the persisted
 * form.
 */
import { runSteps } from '../core/steps.js';
import { packTerms } from './term-keys.js';
import { IN_FX, SLOTS, STALE_BASE, STALE_FX } from './index-state.js';
import { CompactingIndex } from './index-compact.js';

export type { CompactStep } from './index-state.js';

/** Version of everything that decides what the index holds; a persisted index of another version is rebuilt. */
export const INDEX_FORMAT_VERSION = 8;

/** Above any passage's number of distinct terms: a term's number and its place in the passage share one sort key. */
const ORDER_SPAN = 2 ** 22;

/** Work per step of {@link PassageIndex.snapshotSteps}, in terms and postings or triples copied (a few milliseconds). */
const STEP_WORK = 1 << 16;
/** What a term costs, in postings copied: its lookups in two maps (measured at 100 MB: 131,072 terms took 100+ ms). */
const TERM_WORK = 16;

/** Strings per step of {@link joinLines}. */
const STEP_TERMS = 8192;

/**
 * A {@link PassageIndex} as strings and typed arrays, to persist and read
 * back without adding passages again: posting lists (by term, in
 * `postingTerms` order), lengths, and the packed frequencies.
 */
export interface IndexSnapshot {
  count: number;
  totalLength: number;
  /** Single terms in the order of their numbers in the packed frequencies, one a line. */
  termIds: string;
  /** Han bigrams ever indexed, one a line. */
  bigrams: string;
  /** Terms with a posting list, one a line. */
  postingTerms: string;
  /** Per posting term, where its list starts in `ids` (one more entry: the end). */
  start: Int32Array;
  ids: Int32Array;
  /** Each posting's frequency slot. */
  slots: Uint8Array;
  /** By passage id: word positions (-1: none), and where its triples are in `triples` and how many. */
  lengths: Int32Array;
  freqOff: Int32Array;
  freqLen: Int32Array;
  triples: Uint32Array;
}

/** Strings joined by newlines, {@link STEP_TERMS} of them per step. */
function* joinLines(items: Iterator<string>): Generator<void, string> {
  const parts: string[] = [];
  let batch: string[] = [];
  for (let r = items.next(); !r.done; r = items.next()) {
    batch.push(r.value);
    if (batch.length < STEP_TERMS) continue;
    parts.push(batch.join('\n'));
    batch = [];
    yield;
  }
  if (batch.length > 0 || parts.length === 0) parts.push(batch.join('\n'));
  return parts.join('\n');
}

/** The term table of a snapshot (its terms joined by newlines → each term's row), {@link STEP_TERMS} terms per step. */
function* termTableSteps(lines: string): Generator<void, Map<string, number>> {
  const terms = new Map<string, number>();
  if (lines === '') return terms;
  let t = 0;
  for (let at = 0; at <= lines.length;) {
    const nl = lines.indexOf('\n', at);
    const end = nl < 0 ? lines.length : nl;
    terms.set(lines.slice(at, end), t++);
    at = end + 1;
    if ((t & (STEP_TERMS - 1)) === 0) yield;
  }
  return terms;
}

/** One above every passage id indexed (`lengths[id] >= 0`) or listed in `ids`. */
function idLimit(lengths: Int32Array, ids: Int32Array): number {
  let limit = 0;
  for (let id = lengths.length - 1; id >= 0; id--) {
    if (lengths[id]! >= 0) {
      limit = id + 1;
      break;
    }
  }
  for (let i = 0; i < ids.length; i++) if (ids[i]! >= limit) limit = ids[i]! + 1;
  return limit;
}

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
export class PassageIndex extends CompactingIndex {
  /** An index as it was when {@link snapshot} was taken. */
  static fromSnapshot(snap: IndexSnapshot): PassageIndex {
    const ix = new PassageIndex();
    ix.readSnapshot(snap);
    return ix;
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
   * Everything the index holds, as a few strings and typed arrays to write
   * as they are: {@link fromSnapshot} reads it back without adding a
   * single passage again. Removed passages are left out.
   */
  snapshot(): IndexSnapshot {
    return runSteps(this.snapshotSteps());
  }

  /**
   * {@link snapshot} a few hundred terms per step, so a server can answer
   * requests between steps (at 100 MB the whole of it takes seconds). The
   * caller must not change the index between steps (add, remove): it
   * abandons the snapshot instead. Dropping removed postings meanwhile
   * ({@link compactPostings}) is fine: it changes no live posting.
   * @param budget - work per step, in terms and postings copied
   */
  *snapshotSteps(budget = STEP_WORK): Generator<void, IndexSnapshot> {
    const fx = this.fxMap();
    const baseTerms = this.base?.terms;
    /** Every term with a posting list: the persisted ones, then those only in FlexSearch. */
    const candidates = function* (): Generator<string> {
      if (baseTerms) yield* baseTerms.keys();
      for (const t of fx.keys()) if (!baseTerms?.has(t)) yield t;
    };
    // Work is counted in terms and postings copied: a step of a few frequent terms copies as many
    // postings as one of thousands of rare ones.
    let work = 0;
    let room = 0;
    for (const t of candidates()) {
      room += this.listedCount(t);
      work += TERM_WORK;
      if (work >= budget) {
        work = 0;
        yield;
      }
    }
    const allIds = new Int32Array(room);
    const allSlots = new Uint8Array(room);
    const starts: number[] = [];
    const kept: string[] = [];
    let n = 0;
    for (const t of candidates()) {
      const end = this.writeLive(t, allIds, allSlots, n);
      work += TERM_WORK + end - n;
      if (end !== n) {
        starts.push(n);
        kept.push(t);
        n = end;
      }
      if (work >= budget) {
        work = 0;
        yield;
      }
    }
    starts.push(n);
    // Views, not copies: at 100 MB a copy of the postings alone holds the event loop up for tens of milliseconds.
    const ids = allIds.subarray(0, n);
    const slots = allSlots.subarray(0, n);
    yield;
    // The live passages' triples, one after another.
    let triplesLen = 0;
    for (let id = 0; id < this.freqLen.length; id++) triplesLen += this.freqLen[id]! * 3;
    const triples = new Uint32Array(triplesLen);
    const freqOff = new Int32Array(this.lengths.length);
    let at = 0;
    for (let id = 0; id < this.freqLen.length; id++) {
      const len = this.freqLen[id]!;
      if (len === 0) continue;
      const from = this.chunks[this.freqChunk[id]!]!;
      const off = this.freqOff[id]!;
      triples.set(from.subarray(off, off + len * 3), at);
      freqOff[id] = at;
      at += len * 3;
      work += 1 + len;
      if (work >= budget) {
        work = 0;
        yield;
      }
    }
    const lengths = this.lengths.slice();
    const freqLen = this.freqLen.slice();
    const termIds = yield* joinLines(this.termIds.keys());
    const bigrams = yield* joinLines(this.bigramsSeen.values());
    const postingTerms = yield* joinLines(kept.values());
    return {
      count: this.count,
      totalLength: this.totalLength,
      termIds,
      bigrams,
      postingTerms,
      start: Int32Array.from(starts),
      ids,
      slots,
      lengths,
      freqOff,
      freqLen,
      triples,
    };
  }

  /**
   * Fill a new, empty index with what it held when {@link snapshot} was
   * taken (PassageIndex.fromSnapshot makes the index and calls this).
   */
  private readSnapshot(snap: IndexSnapshot): void {
    const terms = runSteps(termTableSteps(snap.postingTerms));
    this.base = { terms, start: snap.start, ids: snap.ids, slots: snap.slots, limit: idLimit(snap.lengths, snap.ids) };
    const size = Math.max(1024, snap.lengths.length);
    this.lengths = new Int32Array(size).fill(-1);
    this.lengths.set(snap.lengths);
    this.freqChunk = new Int32Array(size);
    this.freqOff = new Int32Array(size);
    this.freqOff.set(snap.freqOff);
    this.freqLen = new Int32Array(size);
    this.freqLen.set(snap.freqLen);
    this.flags = new Uint8Array(size);
    this.count = snap.count;
    this.totalLength = snap.totalLength;
    if (snap.triples.length > 0) {
      this.chunks.push(snap.triples);
      this.chunkUsed = snap.triples.length;
    }
    this.liveTriples = snap.triples.length / 3;
    if (snap.termIds !== '') snap.termIds.split('\n').forEach((t, i) => this.termIds.set(t, i));
    if (snap.bigrams !== '') {
      for (const b of snap.bigrams.split('\n')) {
        this.bigramsSeen.add(b);
        for (const c of new Set(b)) {
          const list = this.bigramsByChar.get(c);
          if (list) list.push(b);
          else this.bigramsByChar.set(c, [b]);
        }
      }
    }
  }

  /**
   * Take `snap` — a {@link snapshot} of this index, taken when it held
   * exactly what it holds now — as this index's postings, in place of
   * FlexSearch's lists: the same postings in the same order, as typed arrays
   * outside the JS heap instead of an array per term and slot and an array of
   * lists per passage (about half the heap of a freshly built index). What an
   * index read back with {@link fromSnapshot} holds; answers do not change.
   *
   * The term table is built a few thousand terms per step; the index itself
   * changes only in the last one, which `commit` does: the caller calls it
   * only if the index did not change since the snapshot (add, remove).
   */
  *settleSteps(snap: IndexSnapshot): Generator<void, (() => void) | null> {
    if (snap.ids.length === 0 && this.base === null && this.fxMap().size === 0) return null;
    const terms = yield* termTableSteps(snap.postingTerms);
    yield;
    return () => {
      this.base = { terms, start: snap.start, ids: snap.ids, slots: snap.slots, limit: idLimit(this.lengths, snap.ids) };
      this.fx = this.newFx();
      this.slotNow = null;
      this.pendingFx.clear();
      this.staleBase = 0;
      this.keyCache.clear();
      this.flags.fill(0);
      // The live triples, one after another, in place of chunks holding removed passages' triples too.
      this.chunks.splice(0);
      if (snap.triples.length > 0) this.chunks.push(snap.triples);
      this.chunkUsed = snap.triples.length;
      this.freqChunk.fill(0);
      this.freqOff.set(snap.freqOff);
      this.deadTriples = 0;
      this.firstKeptChunk = 0;
      // What a compaction under way works on is gone: nothing is left to compact.
      this.compaction = null;
    };
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
    return { postings, tripleBytes };
  }

  /** Terms with postings in FlexSearch: added since the index was built or last settled (see {@link settleSteps}). */
  get unsettledTerms(): number {
    return this.fxMap().size;
  }
}
