/**
 * An {@link Engine}'s state as it is persisted (see state-store.ts): taking
 * it a few milliseconds at a time while the engine keeps serving, settling
 * the index onto it once it is written, and taking it back over in a new
 * process without segmenting, analysing or indexing a passage again. A
 * module of the engine's chain (see engine-tables.ts).
 */
import { setImmediate } from 'node:timers/promises';
import { type LoadedDocument, PASSAGE_KINDS, type Passage } from '../../core/types.js';
import { runSteps } from '../../core/steps.js';
import { type DeferredTriples, type IndexSnapshot, PassageIndex } from '../../pipeline/index.js';
import { withFields } from './engine-tables.js';
import { EngineBuilder } from './engine-build.js';

/**
 * An engine's state as {@link Engine.restore} takes it back: the index as
 * written, each document's passages with their ids, and what was learnt of
 * the passages on the way.
 */
export interface EngineState {
  index: IndexSnapshot;
  /** Passages by document id, with their ids. */
  passages: Map<string, Passage[]>;
  nextId: number;
  /** See `hanStable` in {@link Engine}. */
  hanStable: Uint8Array;
  /** The pinyin lexicon's terms. */
  pinyinTerms: string[];
  /** The index's triples when they are still on disk (`index.triples` is then empty): see {@link Engine.loadDeferred}. */
  deferredTriples?: DeferredTriples;
}

/**
 * The persisted-state side of an {@link Engine}, over {@link EngineBuilder};
 * exported only for the engine's own modules. Its public methods are part of
 * Engine's public API.
 */
export abstract class EngineSnapshots extends EngineBuilder {
  /**
   * The engine's state, to persist: {@link restore} reads it back in a new
   * process without segmenting, analysing or indexing a passage again.
   */
  state(): EngineState {
    return runSteps(this.stateSteps());
  }

  /**
   * {@link state} a few milliseconds per step, so a server answers requests
   * between steps. Valid only when {@link stateGeneration} did not change
   * between the first step and the last: the caller checks, and takes it again.
   */
  *stateSteps(): Generator<void, EngineState> {
    const index = yield* this.index.snapshotSteps();
    const passages = new Map<string, Passage[]>();
    for (const d of this.docs.values()) passages.set(d.id, d.passages);
    return {
      index,
      passages,
      nextId: this.nextId,
      hanStable: this.hanStable.slice(0, this.nextId),
      pinyinTerms: this.pinyin.noted(),
    };
  }

  /**
   * Once `state` — taken by {@link stateSteps} at {@link stateGeneration}
   * `takenAt` — is persisted, hold the index as an engine read back from it
   * would ({@link PassageIndex.settleSteps}): its postings in the state's
   * typed arrays, FlexSearch's lists of the build dropped. A few milliseconds
   * per step; nothing changes when the engine did since (it is then settled
   * by the next state written).
   * @returns whether the index was settled
   */
  *settleSteps(state: EngineState, takenAt: number): Generator<void, boolean> {
    if (this.stateChanges !== takenAt) return false;
    const commit = yield* this.index.settleSteps(state.index);
    if (!commit || this.stateChanges !== takenAt) return false;
    commit();
    return true;
  }

  /**
   * Read what a {@link restore} left for later: the triples on disk into
   * memory off the main thread (see PassageIndex.loadDeferred), and the
   * rest a step at a time (PassageIndex.laterSteps); answers are the same before and after.
   */
  async loadDeferred(): Promise<void> {
    const triples = this.index.loadDeferred();
    // Meanwhile what else was left for later, a few milliseconds per turn of the event loop.
    for (const _ of this.index.laterSteps()) await setImmediate();
    await triples;
  }

  /**
   * Take over a persisted {@link state}, on an engine holding no document:
   * `docs` are the documents it was taken with (their text and metadata; a
   * text read lazily stays so, see texts.ts).
   */
  restore(state: EngineState, docs: readonly LoadedDocument[]): void {
    if (this.docs.size > 0) throw new Error('restore needs an empty engine');
    this.index = PassageIndex.fromSnapshot(state.index, state.deferredTriples);
    this.nextId = Math.max(this.nextId, state.nextId);
    this.hanStable = new Uint8Array(Math.max(1024, state.hanStable.length));
    this.hanStable.set(state.hanStable);
    for (const doc of docs) {
      const passages = state.passages.get(doc.id);
      if (!passages) throw new Error(`no passages for ${doc.id} in the persisted state`);
      this.docs.set(doc.id, withFields(doc, { passages }));
      const code = this.docIds.push(doc.id) - 1;
      this.docCode.set(doc.id, code);
      for (const p of passages) {
        this.byId[p.id] = p;
        this.setCodes(p.id, PASSAGE_KINDS.indexOf(p.kind), code, p.lang === 'zh' ? 1 : 0);
      }
    }
    this.pinyin.addTerms(state.pinyinTerms);
    this.changes++;
    this.stateChanges++;
  }
}
