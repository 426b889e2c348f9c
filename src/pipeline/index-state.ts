/**
 * What a {@link PassageIndex} holds, and the few operations on it that more
 * than one of its concerns needs (FlexSearch's lists, the chunks of packed
 * frequencies). The index is split by concern into a short chain of classes,
 * each in its own module and each extending the one below:
 *
 * - index-state.ts: the fields, and FlexSearch and chunk bookkeeping;
 * - index-read.ts: lookups, frequencies, posting lists (the query path);
 * - index-compact.ts: dropping removed passages' postings and triples;
 * - index-snapshot.ts: the persisted form, written and read back;
 * - index.ts: {@link PassageIndex} itself, adding and removing passages.
 *
 * A chain rather than free functions over a shared state object: the fields
 * stay `protected` (no caller outside the chain sees them), and the query
 * path reads them straight off `this`, with no object or call in between.
 * Only index*.ts modules import this one.
 */
import { Index } from 'flexsearch';

/**
 * FlexSearch resolution slots: a passage is listed in the slot of the term's
 * frequency in it (1…30; 31 for 31 or more, the exact count then read from
 * the passage's frequencies), or in slot 0 when it holds the string only as a
 * Han bigram, not as a word. So a term's posting list carries each passage's
 * frequency, read in list order instead of one binary search per passage.
 */
export const SLOTS = 32;

/** Numbers per chunk of packed frequencies (4 MB). */
export const CHUNK = 1 << 20;

/** Bigrams added to the tables per step of IndexState.bigramSteps (a few milliseconds). */
const BIGRAMS_PER_STEP = 8192;

/**
 * The chunk standing for triples still on disk (see {@link DeferredTriples}):
 * empty, so new triples never go into it, and told apart by identity.
 */
export const PENDING = new Uint32Array(0);

/** {@link IndexState.flags} by passage id: listed in FlexSearch, stale there, stale in the persisted postings. */
export const IN_FX = 1;
export const STALE_FX = 2;
export const STALE_BASE = 4;

/**
 * Posting lists read back from a snapshot: per term (numbered by `terms`),
 * `ids[start[t] .. start[t + 1]]` with each one's slot, slot by slot.
 */
export interface BasePostings {
  terms: Map<string, number>;
  start: Int32Array;
  ids: Int32Array;
  slots: Uint8Array;
  /** Above every passage id in these lists. */
  limit: number;
}

/**
 * The packed frequencies (triples) of an index read back from its persisted
 * form, still on disk: at a gigabyte of papers they are 3.4 GB, and reading
 * them before the first answer doubled a restart. Until they are in memory
 * the index reads one passage's triples at a time from the file.
 */
export interface DeferredTriples {
  /** Numbers in the whole array. */
  readonly length: number;
  /** Copy numbers `from` … `from + n` of the array into `into` (from its start), now: a small read of the file. */
  readInto(into: Uint32Array, from: number, n: number): void;
  /** The whole array, now: blocks for as long as reading it takes (for a process that serves nothing meanwhile). */
  readAll(): Uint32Array;
  /** The whole array, read off the main thread; the same promise at every call. */
  load(): Promise<Uint32Array>;
  /** Let go of the file without reading the array (it is not going to be used). */
  discard(): void;
}

/** One step of PassageIndex.compactSteps: the work done in it, and in how many items (passages or postings). */
export interface CompactStep {
  work: number;
  items: number;
}

const splitTerms = (s: string): string[] => (s === '' ? [] : s.split(' '));

/**
 * The state of a {@link PassageIndex}, shared by the modules of its chain
 * (see this module's comment); exported for them only, never constructed
 * on its own.
 */
export abstract class IndexState {
  /** The slot of each word of the passage being added (see {@link SLOTS}); FlexSearch asks for it per term. */
  protected slotNow: Map<string, number> | null = null;
  /**
   * The passage being added, when its distinct words lead its FlexSearch text
   * (the usual case, see PassageIndex.add): word `i`'s slot is read from
   * `slotCounts[i]` by its place, without a map of its words.
   */
  protected slotWords = 0;
  protected slotCounts: readonly number[] | undefined = undefined;
  /** Postings added since the index was built or last settled; replaced by an empty one when it is. */
  protected fx = this.newFx();
  /** Token count of each indexed passage, by passage id (-1: not indexed). */
  protected lengths = new Int32Array(1024).fill(-1);
  /** Number of indexed passages. */
  protected count = 0;
  protected totalLength = 0;
  /** Every single term seen, numbered (below 2^31). */
  protected readonly termIds = new Map<string, number>();
  /**
   * Per passage: [key1, key2, count, …] triples sorted by (key1, key2), packed
   * one passage after another in large chunks (a typed array per passage
   * costs an object and a buffer each, and every frequency lookup then chased
   * two pointers to reach its data). By passage id: the chunk, the offset in
   * it, and the number of triples (0: none).
   */
  protected readonly chunks: Uint32Array[] = [];
  protected chunkUsed = 0;
  protected freqChunk = new Int32Array(1024);
  protected freqOff = new Int32Array(1024);
  protected freqLen = new Int32Array(1024);
  /**
   * Triples still on disk (see {@link DeferredTriples}): the chunk
   * {@link PENDING} stands for them until they are read; null once they are
   * (or when the index was not read back).
   */
  protected deferred: DeferredTriples | null = null;
  /** One passage's triples read from {@link deferred}, and whose they are (-1: none). */
  protected deferredScratch = new Uint32Array(0);
  protected deferredId = -1;
  /** Triples of removed passages still taking room in the chunks (those below {@link firstKeptChunk} not counted). */
  protected deadTriples = 0;
  protected liveTriples = 0;
  /**
   * Chunks below this one are being emptied by a compaction (see
   * PassageIndex.compactSteps), or already are: their removed triples are
   * not dead room any more.
   */
  protected firstKeptChunk = 0;
  /**
   * The keys of the terms ranking asked for last (a query asks for the same
   * few for every candidate). A Map emptied when full rather than lru-cache:
   * it answers about 59 lookups a µs against lru-cache's 44 (with a marker
   * for unknown terms, which lru-cache cannot hold as undefined), on the
   * path every candidate's frequencies take, and a query never needs
   * thousands of terms.
   */
  protected readonly keyCache = new Map<string, [number, number] | undefined>();
  /** Every bigram ever indexed, and the same by each of its characters, for single-character lookups. */
  protected readonly bigramsSeen = new Set<string>();
  protected readonly bigramsByChar = new Map<string, string[]>();
  /**
   * Bigrams of a snapshot read back but not yet in {@link bigramsSeen} and
   * {@link bigramsByChar} (one a line, those before {@link bigramsAt} added):
   * null once they all are (see {@link bigramSteps}).
   */
  protected unreadBigrams: string | null = null;
  protected bigramsAt = 0;
  /** The persisted postings' id limit while it is still being found (see SnapshotIndex.laterSteps). */
  protected unreadLimit: { step(n: number): boolean } | null = null;
  /**
   * The postings of a persisted index, read back as written (see
   * PassageIndex.snapshot); FlexSearch then holds only what was added since.
   */
  protected base: BasePostings | null = null;
  /**
   * Per passage id, bit flags: {@link IN_FX} listed in FlexSearch,
   * {@link STALE_BASE} its postings in {@link base} no longer count,
   * {@link STALE_FX} its FlexSearch postings no longer count (removed, not yet
   * spliced out: see PassageIndex.compactPostings).
   */
  protected flags = new Uint8Array(1024);
  /** Ids whose FlexSearch postings await removal, and the number of ids stale in the base. */
  protected readonly pendingFx = new Set<number>();
  /** The ids whose FlexSearch postings the compaction under way drops (see CompactingIndex.compactSteps), or null. */
  protected fxDropping: Set<number> | null = null;
  protected staleBase = 0;
  /** The compaction under way (see PassageIndex.compactPostings), or null. */
  protected compaction: Generator<CompactStep, void> | null = null;

  /**
   * An empty FlexSearch index that lists each passage in the slot {@link slotNow} gives its term.
   *
   * Without FlexSearch's `fastupdate` registry (by passage, every list it is in): it held a reference
   * per posting, a quarter of the heap of an index built in memory (at 100 MB of papers 632 → 473 MB
   * after the build; indexing took as long either way). Removal does not need it: a removed passage
   * is only marked, and a compaction drops the marked ones from FlexSearch's lists in one pass over
   * them (see CompactingIndex.compactSteps).
   */
  protected newFx(): Index {
    return new Index({
      tokenize: 'strict',
      encode: splitTerms,
      resolution: SLOTS,
      fastupdate: false,
      score: (_content, term, i) =>
        this.slotNow ? (this.slotNow.get(term) ?? 0) : i < this.slotWords ? Math.min(this.slotCounts?.[i] ?? 1, SLOTS - 1) : 0,
    });
  }

  /** FlexSearch's slots of a single term (see {@link SLOTS}), or undefined. */
  protected fxSlots(term: string): Array<number[] | undefined> | undefined {
    return this.fxMap().get(term);
  }

  /** FlexSearch's own map from term to slots (not in its typings). */
  protected fxMap(): Map<string, Array<number[] | undefined>> {
    return (this.fx as unknown as { map: Map<string, Array<number[] | undefined>> }).map;
  }

  /** Where `size` more numbers fit in the last chunk (a new chunk when they do not). */
  protected room(size: number): number {
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
   * The deferred triples in memory now, read at once if their read off the
   * main thread has not ended: before anything copies triples (a snapshot, a
   * compaction), which needs all of them.
   */
  protected settleDeferred(): void {
    if (this.deferred) this.installDeferred(this.deferred, this.deferred.readAll());
  }

  /** Put the triples read from `from` in place of the {@link PENDING} chunk, unless they were replaced meanwhile. */
  protected installDeferred(from: DeferredTriples, triples: Uint32Array): void {
    if (this.deferred !== from) return;
    if (triples.length !== from.length) throw new Error('the persisted triples were read short');
    const c = this.chunks.indexOf(PENDING);
    if (c >= 0) this.chunks[c] = triples;
    this.deferred = null;
    this.deferredId = -1;
    this.deferredScratch = new Uint32Array(0);
  }

  /**
   * Add the {@link unreadBigrams} to the bigrams' tables, a few thousand per
   * step, in the order they were written (so a snapshot writes them back in
   * it); whatever needs the tables first reads the rest at once (see {@link readBigrams}).
   * @param perStep - bigrams added per step
   */
  *bigramSteps(perStep = BIGRAMS_PER_STEP): Generator<void, void> {
    for (let n = 1; this.unreadBigrams !== null; n++) {
      const text = this.unreadBigrams;
      const nl = text.indexOf('\n', this.bigramsAt);
      const end = nl < 0 ? text.length : nl;
      this.noteBigram(text.slice(this.bigramsAt, end));
      this.bigramsAt = end + 1;
      if (nl < 0) this.unreadBigrams = null;
      else if (n % perStep === 0) yield;
    }
  }

  /** All of {@link unreadBigrams} in the bigrams' tables, now. */
  protected readBigrams(): void {
    if (this.unreadBigrams !== null) for (const _ of this.bigramSteps());
  }

  /** A bigram in the tables, unless it is there already. */
  protected noteBigram(b: string): void {
    if (this.bigramsSeen.has(b)) return;
    this.bigramsSeen.add(b);
    for (const c of new Set(b)) {
      const list = this.bigramsByChar.get(c);
      if (list) list.push(b);
      else this.bigramsByChar.set(c, [b]);
    }
  }

  /**
   * Remove a marked passage's postings from FlexSearch for good, now: a passage id added again while
   * its old postings wait for the compaction (FlexSearch looks through every list for it).
   */
  protected spliceOut(id: number): void {
    this.fx.remove(id);
    this.flags[id] = this.flags[id]! & ~(IN_FX | STALE_FX);
    this.pendingFx.delete(id);
    // Its old postings are gone and new ones follow: the compaction under way must not drop it.
    this.fxDropping?.delete(id);
  }
}
