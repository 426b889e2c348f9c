/**
 * The persisted form of the passage index: everything it holds as a few
 * strings and typed arrays (an {@link IndexSnapshot}), written as they are
 * and read back without adding a single passage again. Taking one, and
 * settling an index on one it wrote, go in steps of a few milliseconds so a
 * server answers requests meanwhile (at 100 MB the whole takes seconds).
 *
 * What is written here is what INDEX_FORMAT_VERSION (index.ts) versions:
 * a change to the layout below needs that number raised.
 */
import { runSteps } from '../core/steps.js';
import { CompactingIndex } from './index-compact.js';
import { type DeferredTriples, PENDING } from './index-state.js';

/** Work per step of {@link SnapshotIndex.snapshotSteps}, in terms and postings or triples copied (a few milliseconds). */
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

/**
 * One above every passage id indexed (`lengths[id] >= 0`) or listed in `ids`,
 * found a part of `ids` at a time ({@link step}) or at once ({@link value}).
 */
class IdLimit {
  private at = 0;
  private limit = 0;
  constructor(
    private readonly lengths: Int32Array,
    private readonly ids: Int32Array,
  ) {
    for (let id = lengths.length - 1; id >= 0; id--) {
      if (lengths[id]! >= 0) {
        this.limit = id + 1;
        break;
      }
    }
  }

  /** Look at `n` more ids; returns whether all have been. */
  step(n: number): boolean {
    const ids = this.ids;
    const end = Math.min(ids.length, this.at + n);
    let limit = this.limit;
    for (let i = this.at; i < end; i++) if (ids[i]! >= limit) limit = ids[i]! + 1;
    this.limit = limit;
    this.at = end;
    return end === ids.length;
  }

  /** The limit, the ids not yet looked at looked at now. */
  get value(): number {
    this.step(Infinity);
    return this.limit;
  }
}

/** One above every passage id indexed (`lengths[id] >= 0`) or listed in `ids`. */
const idLimit = (lengths: Int32Array, ids: Int32Array): number => new IdLimit(lengths, ids).value;

/** Ids looked at per step of SnapshotIndex.laterSteps' limit (a few milliseconds). */
const LIMIT_IDS_PER_STEP = 1 << 22;

/**
 * Snapshots of a {@link PassageIndex}, taken and read back; exported only
 * for the index's own modules (see index-state.ts). Its public members are
 * part of PassageIndex's public API.
 */
export abstract class SnapshotIndex extends CompactingIndex {
  /**
   * Everything the index holds, as a few strings and typed arrays to write
   * as they are: PassageIndex.fromSnapshot reads it back without adding a
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
    // The live passages' triples, one after another: all of them in memory first.
    this.settleDeferred();
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
    yield* this.bigramSteps();
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
  protected readSnapshot(snap: IndexSnapshot, deferred?: DeferredTriples): void {
    const terms = runSteps(termTableSteps(snap.postingTerms));
    // The postings' id limit is found later (see laterSteps), or by the first removal: at a gigabyte of
    // papers it reads 157 million ids.
    const limit = new IdLimit(snap.lengths, snap.ids);
    this.unreadLimit = limit;
    this.base = {
      terms,
      start: snap.start,
      ids: snap.ids,
      slots: snap.slots,
      get limit() {
        return limit.value;
      },
    };
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
    // Triples still on disk (see DeferredTriples) stand in the first chunk as PENDING until they are read.
    const triples = deferred ?? snap.triples;
    if (triples.length > 0) {
      this.chunks.push(deferred ? PENDING : snap.triples);
      this.chunkUsed = triples.length;
      if (deferred) this.deferred = deferred;
    }
    this.liveTriples = triples.length / 3;
    if (snap.termIds !== '') snap.termIds.split('\n').forEach((t, i) => this.termIds.set(t, i));
    // The bigrams' tables wait until something needs them (see unreadBigrams): a query looks bigrams up in
    // the postings, and at a gigabyte of papers building the tables took a tenth of a restart.
    this.unreadBigrams = snap.bigrams === '' ? null : snap.bigrams;
    this.bigramsAt = 0;
  }

  /**
   * What reading a snapshot back left for later (see {@link readSnapshot}),
   * a few milliseconds per step: the bigrams' tables, and the persisted
   * postings' id limit. Whatever needs either first finds it at once.
   */
  *laterSteps(): Generator<void, void> {
    yield* this.bigramSteps();
    const limit = this.unreadLimit;
    if (limit) while (!limit.step(LIMIT_IDS_PER_STEP)) yield;
    this.unreadLimit = null;
  }

  /**
   * Take `snap` — a {@link snapshot} of this index, taken when it held
   * exactly what it holds now — as this index's postings, in place of
   * FlexSearch's lists: the same postings in the same order, as typed arrays
   * outside the JS heap instead of an array per term and slot and an array of
   * lists per passage (about half the heap of a freshly built index). What an
   * index read back with PassageIndex.fromSnapshot holds; answers do not change.
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
      // The live triples, one after another, in place of chunks holding removed passages' triples too
      // (and of triples still on disk: the snapshot read them).
      this.chunks.splice(0);
      this.deferred = null;
      this.deferredId = -1;
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
}
