/**
 * A restart leaves the index's packed frequencies (triples) on disk and
 * answers at once, reading a passage's triples from the file until they are
 * all read into memory off the main thread (see `DeferredTriples` in
 * src/pipeline/index-state.ts). Every frequency, every answer and the state
 * written again must be the same before, during and after that read, and
 * the read must really be deferred: the index below counts its file reads.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { openIndexDatabase } from '../src/backends/embedded/index-db.js';
import { openPersistentCorpus } from '../src/backends/embedded/persist.js';
import { restoreState } from '../src/backends/embedded/persist-restore.js';
import { asLibrary, loadLibraryGlossary } from '../src/library/library.js';
import { type DeferredTriples, PassageIndex } from '../src/pipeline/index.js';
import { SAMPLE } from './helpers/sample.js';
import { tempDirs } from './helpers/temp.js';

const tempDir = tempDirs('triples');

/** Triples "on disk" that count their reads, and whose read off the main thread ends when the test says. */
function fakeDisk(triples: Uint32Array) {
  let finish!: () => void;
  const read = new Promise<Uint32Array>((r) => (finish = () => r(triples.slice())));
  const counts = { parts: 0, whole: 0 };
  const deferred: DeferredTriples = {
    length: triples.length,
    readInto(into, from, n) {
      counts.parts++;
      into.set(triples.subarray(from, from + n));
    },
    readAll() {
      counts.whole++;
      return triples.slice();
    },
    load: () => read,
    discard() {},
  };
  return { deferred, counts, finish };
}

// Han (BMP and astral), English, numbers, and biwords of them; counts past the 31 slots are read from the triples.
const WORDS = ['对口', '支援', '𠀀', 'support', 'counterpart', '2008'];
const term = fc.oneof(
  fc.constantFrom(...WORDS),
  fc.tuple(fc.constantFrom(...WORDS), fc.constantFrom('|', '~'), fc.constantFrom(...WORDS)).map(([a, s, b]) => `${a}${s}${b}`),
);
const passages = fc.array(fc.dictionary(term, fc.integer({ min: 1, max: 40 }), { minKeys: 1 }), { minLength: 1, maxLength: 10 });
// Han bigrams (looked up, never counted), astral ones among them: their tables are read back lazily too.
const BIGRAMS = ['对口', '口支', '支援', '援疆', '𠀀𪚥', '𪚥字'];
const bigramLists = fc.array(fc.uniqueArray(fc.constantFrom(...BIGRAMS)), { minLength: 12, maxLength: 12 });
const CHARS = ['对', '口', '支', '援', '疆', '𠀀', '𪚥', '字'];
const byChar = (ix: PassageIndex): number[][] => CHARS.map((c) => ix.lookupChar(c).sort((a, b) => a - b));
const postings = (ix: PassageIndex): number[][] => WORDS.map((w) => [...ix.lookup(w)].sort((a, b) => a - b));
const ALL = [...WORDS, ...WORDS.flatMap((a) => WORDS.flatMap((b) => [`${a}|${b}`, `${a}~${b}`])), 'absent'];

/** Every term's frequency in every passage id up to `n`, as a list to compare. */
const frequencies = (ix: PassageIndex, n: number): number[] =>
  ALL.flatMap((t) => Array.from({ length: n + 2 }, (_, id) => ix.frequency(id, t)));

describe('triples left on disk at a restart', () => {
  it('give every frequency, and the same snapshot, before and after they are read, with the index changed meanwhile', async () => {
    await fc.assert(
      fc.asyncProperty(
        passages,
        fc.nat(),
        fc.dictionary(term, fc.integer({ min: 1, max: 40 }), { minKeys: 1 }),
        bigramLists,
        fc.nat({ max: 3 }),
        async (list, drop, extra, bigrams, steps) => {
          const built = new PassageIndex();
          list.forEach((p, i) => built.add(i + 1, Object.keys(p), Object.values(p), 5, bigrams[i]));
          const snap = built.snapshot();
          const disk = fakeDisk(snap.triples);
          const restored = PassageIndex.fromSnapshot({ ...snap, triples: new Uint32Array(0) }, disk.deferred);
          expect(restored.triplesOnDisk).toBe(true);
          expect(frequencies(restored, list.length)).toEqual(frequencies(built, list.length));
          // Each passage's triples were read from the file, none of them whole.
          expect(disk.counts.parts).toBeGreaterThan(0);
          expect(disk.counts.whole).toBe(0);
          // The bigrams' tables part read (a step at a time, as a server reads them between requests), or not at all.
          const reading = restored.bigramSteps(1);
          for (let i = 0; i < steps; i++) reading.next();
          // Changed while they are on disk: one passage removed, one added (into memory) with bigrams.
          const gone = (drop % list.length) + 1;
          for (const ix of [built, restored]) {
            ix.remove(gone);
            ix.add(list.length + 1, Object.keys(extra), Object.values(extra), 3, bigrams[11]);
          }
          for (const _ of reading);
          expect(byChar(restored)).toEqual(byChar(built));
          // The removed passage is gone from the persisted postings too (their id limit, found later, says it is in them).
          expect(postings(restored)).toEqual(postings(built));
          expect(frequencies(restored, list.length + 1)).toEqual(frequencies(built, list.length + 1));
          const loading = restored.loadDeferred();
          expect(restored.triplesOnDisk).toBe(true);
          disk.finish();
          await loading;
          expect(restored.triplesOnDisk).toBe(false);
          const parts = disk.counts.parts;
          expect(frequencies(restored, list.length + 1)).toEqual(frequencies(built, list.length + 1));
          // Read from memory now.
          expect(disk.counts.parts).toBe(parts);
          expect(restored.snapshot()).toEqual(built.snapshot());
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a snapshot taken while they are on disk reads them whole first, and a read ending after it changes nothing', async () => {
    const built = new PassageIndex();
    built.add(1, ['support', 'support|node'], [40, 2], 9);
    built.add(2, ['对口', '对口~支援'], [3, 1], 4);
    const snap = built.snapshot();
    const disk = fakeDisk(snap.triples);
    const restored = PassageIndex.fromSnapshot({ ...snap, triples: new Uint32Array(0) }, disk.deferred);
    const loading = restored.loadDeferred();
    expect(restored.snapshot()).toEqual(snap);
    expect(disk.counts.whole).toBe(1);
    expect(restored.triplesOnDisk).toBe(false);
    disk.finish();
    await loading;
    expect(restored.frequency(1, 'support')).toBe(40);
    expect(restored.frequency(2, '对口~支援')).toBe(1);
    expect(restored.snapshot()).toEqual(snap);
  });

  it('a restarted corpus answers from the file before the triples are read, and the same after', async () => {
    const corpus = tempDir();
    cpSync(SAMPLE, corpus, { recursive: true });
    const data = tempDir();
    const first = await openPersistentCorpus(corpus, data);
    first.db.close();
    const queries = [
      '对口支援',
      'counterpart support',
      '"key node"',
      'support',
      '援藏 OR 援疆',
      'partner assistance -Tibet',
      'how are village cadres selected',
    ];
    const answer = (e: Engine) =>
      queries.map((q) => e.search(q, { limit: 50 })).map((r) => ({ total: r.total, hits: r.hits.map((h) => [h.passageId, h.score]) }));
    const expected = answer(first.engine);

    const db = openIndexDatabase(join(data, 'index.db'));
    try {
      const engine = new Engine();
      engine.setGlossary(loadLibraryGlossary(asLibrary(corpus)));
      const taken = await restoreState(engine, db, {});
      expect(taken).not.toBeNull();
      expect(engine.index.triplesOnDisk).toBe(true);
      expect(answer(engine)).toEqual(expected);
      expect(engine.index.triplesOnDisk).toBe(true);
      // The texts' check runs once they are read.
      expect(await taken!.check).toBeNull();
      expect(engine.index.triplesOnDisk).toBe(false);
      expect(answer(engine)).toEqual(expected);
    } finally {
      db.close();
    }
  }, 60_000);
});
