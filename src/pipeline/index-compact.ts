/**
 * Compaction of the passage index: removing a passage only marks it (see
 * PassageIndex.remove), because splicing it out of every posting list it is
 * in costs an `indexOf` and a splice per term while the researcher waits.
 * What is marked is dropped here later, in steps of bounded work, so a server
 * answers requests in between: removed passages' FlexSearch postings, the
 * persisted postings of stale passages, and the room of removed passages'
 * packed frequencies (replacing papers one by one, a long-running server
 * would otherwise grow without end).
 */
import { CHUNK, type CompactStep, IN_FX, STALE_BASE, STALE_FX } from './index-state.js';
import { IndexReader } from './index-read.js';

/** Work per step of {@link CompactingIndex.compactSteps}, in postings or triples looked at or copied (about a millisecond at 100 MB). */
const COMPACT_WORK = 1 << 17;
/** Stands in for a chunk of triples dropped by a compaction, so the numbers of the chunks after it stay valid. */
const NO_TRIPLES = new Uint32Array(0);

/**
 * Compaction of a {@link PassageIndex}, over its read side; exported only for
 * the index's own modules (see index-state.ts). Its public members are part
 * of PassageIndex's public API.
 */
export abstract class CompactingIndex extends IndexReader {
  /** Removed passages whose postings are still listed (see {@link compactPostings}). */
  get stalePostings(): number {
    return this.pendingFx.size + this.staleBase;
  }

  /**
   * Whether a compaction is due: removed passages' postings in FlexSearch,
   * persisted postings of which stale ones are a tenth or more (any, with
   * `all`), or more room of removed passages' triples than live ones.
   */
  compactionDue(all = false): boolean {
    return (
      this.pendingFx.size > 0 ||
      (this.base !== null && this.staleBase > 0 && (all || this.staleBase * 10 >= this.count)) ||
      // Not while triples are still on disk: moving them needs them all in memory (see DeferredTriples).
      (this.deferred === null && this.deadTriples * 3 > CHUNK && this.deadTriples > this.liveTriples)
    );
  }

  /**
   * Drop removed passages' postings and reclaim their room, until `deadline`
   * (a `performance.now()` time) when given, resuming where the last call
   * stopped (see {@link compactSteps}; at 100 MB the persisted postings alone
   * take hundreds of milliseconds). Without a deadline, everything removed is
   * dropped now. Answers do not change; lists only get shorter.
   * @returns whether nothing is left to do (with a deadline: nothing due yet, see {@link compactionDue})
   */
  compactPostings(deadline = Infinity): boolean {
    const all = deadline === Infinity;
    for (;;) {
      if (!this.compaction) {
        if (!this.compactionDue(all)) return true;
        this.compaction = this.compactSteps(COMPACT_WORK, all);
      }
      for (let step = this.compaction.next(); !step.done; step = this.compaction.next()) {
        if (performance.now() >= deadline) return false;
      }
      this.compaction = null;
    }
  }

  /**
   * Compaction as steps of about `budget` work each (postings or triples
   * looked at or copied): each yields the work it did, at most `budget`
   * unless the step is a single item (one term's FlexSearch lists, one
   * passage's triples) costing more on its own. Between steps the index may be read,
   * added to, removed from, snapshotted and settled (settling abandons the
   * compaction: it replaces what is being compacted); what a step changes,
   * it changes whole, so every read answers as without compaction.
   *
   * In turn: removed passages' FlexSearch postings, in one pass over its lists; then
   * the persisted postings of passages stale when it starts, once stale ones
   * are a tenth of them (any, with `all`), filtered into new arrays taken in
   * place of the old ones in the last step; then, once removed passages'
   * triples outweigh the live ones, the live triples into fresh chunks.
   * One compaction at a time: {@link compactPostings} runs its own, so a
   * caller driving these steps does not call it meanwhile.
   */
  *compactSteps(budget = COMPACT_WORK, all = false): Generator<CompactStep, void> {
    if (this.pendingFx.size > 0) yield* this.dropStaleFxSteps(budget);
    if (this.base && this.staleBase > 0 && (all || this.staleBase * 10 >= this.count)) yield* this.dropStaleBaseSteps(budget);
    if (this.deferred === null && this.deadTriples * 3 > CHUNK && this.deadTriples > this.liveTriples)
      yield* this.compactTriplesSteps(budget);
  }

  /**
   * FlexSearch's lists without the passages removed when this starts, a
   * term or a few per step (FlexSearch keeps no record of where a passage is
   * listed: see IndexState.newFx). A list is filtered in place within one
   * step, so a read between steps finds it whole or without them; either
   * way the reads skip those passages, which stay marked until the last step.
   * A passage removed meanwhile stays listed (and marked) for the next
   * compaction; one added again meanwhile is spliced out at once by `add`,
   * which takes it out of this compaction's set.
   */
  private *dropStaleFxSteps(budget: number): Generator<CompactStep, void> {
    const fx = this.fx;
    const gone = new Set(this.pendingFx);
    this.fxDropping = gone;
    let work = 0;
    let items = 0;
    try {
      const map = this.fxMap();
      for (const [term, slots] of map) {
        let cost = 1;
        for (let s = 0; s < slots.length; s++) cost += slots[s]?.length ?? 0;
        if (work > 0 && work + cost > budget) {
          yield { work, items };
          work = 0;
          items = 0;
          // Settled meanwhile: FlexSearch was replaced, and with it everything this was dropping.
          if (this.fx !== fx) return;
        }
        // Read afresh after every pause: adding a passage may replace the flags by a larger array.
        const flags = this.flags;
        let left = 0;
        for (let s = 0; s < slots.length; s++) {
          const list = slots[s];
          if (!list) continue;
          let kept = 0;
          for (let i = 0; i < list.length; i++) {
            const id = list[i]!;
            if ((flags[id]! & STALE_FX) !== 0 && gone.has(id)) continue;
            list[kept++] = id;
          }
          list.length = kept;
          left += kept;
        }
        // A term no passage holds any more goes, as FlexSearch's own removal drops it.
        if (left === 0) map.delete(term);
        work += cost;
        items++;
      }
      // Listed nowhere now: no longer marked, nor known to FlexSearch.
      const registry = (fx as unknown as { reg: Set<number> }).reg;
      for (const id of gone) {
        if (work >= budget) {
          yield { work, items };
          work = 0;
          items = 0;
          if (this.fx !== fx) return;
        }
        this.flags[id] = this.flags[id]! & ~(IN_FX | STALE_FX);
        this.pendingFx.delete(id);
        registry.delete(id);
        work++;
        items++;
      }
      if (work > 0) yield { work, items };
    } finally {
      if (this.fxDropping === gone) this.fxDropping = null;
    }
  }

  /**
   * The persisted postings without those of the passages stale in them when
   * this starts, a posting at a time: ids stale meanwhile stay listed (and
   * flagged) for the next compaction.
   */
  private *dropStaleBaseSteps(budget: number): Generator<CompactStep, void> {
    const base = this.base!;
    let work = 0;
    const tick = (): boolean => ++work >= budget;
    const step = (): CompactStep => {
      const s = { work, items: work };
      work = 0;
      return s;
    };
    const limit = Math.min(base.limit, this.flags.length);
    const drop = new Uint8Array(limit);
    const dropped: number[] = [];
    for (let id = 0; id < limit; id++) {
      if (this.flags[id]! & STALE_BASE) {
        drop[id] = 1;
        dropped.push(id);
      }
      if (tick()) yield step();
    }
    // Counted first, so the new arrays are allocated at their size (a copy at the end would block).
    let n = 0;
    for (let i = 0; i < base.ids.length; i++) {
      if (drop[base.ids[i]!] === 0) n++;
      if (tick()) yield step();
    }
    const ids = new Int32Array(n);
    const slots = new Uint8Array(n);
    const start = new Int32Array(base.start.length);
    n = 0;
    for (let t = 0; t + 1 < base.start.length; t++) {
      start[t] = n;
      for (let i = base.start[t]!; i < base.start[t + 1]!; i++) {
        const id = base.ids[i]!;
        if (drop[id] === 0) {
          ids[n] = id;
          slots[n++] = base.slots[i]!;
        }
        if (tick()) yield step();
      }
    }
    start[base.start.length - 1] = n;
    // Replaced meanwhile (settled on a new snapshot): this is out of date. Otherwise the switch, in one step.
    if (this.base !== base) return;
    this.base = { ...base, start, ids, slots };
    for (const id of dropped) this.flags[id] = this.flags[id]! & ~STALE_BASE;
    this.staleBase -= dropped.length;
    if (work > 0) yield step();
  }

  /**
   * Copy the live passages' triples into fresh chunks, dropping the room of
   * removed ones, a few passages per step: each passage is moved whole in
   * one step, so reads between steps find it in its old place or its new
   * one. Passages added meanwhile go into the fresh chunks already.
   */
  private *compactTriplesSteps(budget: number): Generator<CompactStep, void> {
    // The rest of the last chunk is left unused: from here on every triple written goes into fresh chunks.
    const first = this.chunks.length;
    const fresh = new Uint32Array(CHUNK);
    this.chunks.push(fresh);
    this.chunkUsed = 0;
    this.firstKeptChunk = first;
    this.deadTriples = 0;
    let work = 0;
    let items = 0;
    // The per-passage arrays are read afresh after every pause: adding a passage may replace them by larger ones.
    for (let id = 0; id < this.freqLen.length; id++) {
      let len = this.freqLen[id]!;
      if (work > 0 && work + 1 + len > budget) {
        yield { work, items };
        work = 0;
        items = 0;
        // Settled meanwhile: its chunks replaced every one of these.
        if (this.chunks[first] !== fresh) return;
        len = this.freqLen[id]!;
      }
      work += 1 + len;
      items++;
      if (len === 0 || this.freqChunk[id]! >= first) continue;
      const from = this.chunks[this.freqChunk[id]!]!;
      const start = this.freqOff[id]!;
      const at = this.room(len * 3);
      this.chunks[this.chunks.length - 1]!.set(from.subarray(start, start + len * 3), at);
      this.freqChunk[id] = this.chunks.length - 1;
      this.freqOff[id] = at;
    }
    // Nothing points below `first` now; their numbers stay, so no passage's chunk number changes.
    for (let c = 0; c < first; c++) this.chunks[c] = NO_TRIPLES;
    if (work > 0) yield { work, items };
  }
}
