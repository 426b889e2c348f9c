/**
 * The index's per-passage frequencies and its frequency slots against a plain
 * map of what was added: through adds, removals, re-adds and the compaction
 * of removed passages' room.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PassageIndex } from '../src/pipeline/index.js';

type Added = Map<number, Map<string, number>>;

/** Every term of every live passage: frequency, slots and posting lists agree with what was added. */
function expectAgrees(ix: PassageIndex, added: Added, vocabulary: readonly string[]): void {
  expect(ix.size).toBe(added.size);
  for (const [id, terms] of added) for (const [t, n] of terms) expect(ix.frequency(id, t), `${id} ${t}`).toBe(n);
  // Biwords have no posting lists: phrases are checked on the passages' frequencies.
  for (const t of vocabulary.filter((w) => !w.includes('|') && !w.includes('~'))) {
    const want = [...added].filter(([, terms]) => terms.has(t)).map(([id]) => id);
    expect(
      [...ix.lookup(t)].sort((a, b) => a - b),
      t,
    ).toEqual(want.sort((a, b) => a - b));
    const tf = ix.termFrequencies(t);
    for (const id of want) {
      const n = added.get(id)!.get(t)!;
      // 0xffff: that many or more, ask the index.
      expect(tf[id] === 0xffff ? ix.frequency(id, t) : tf[id], `${id} ${t}`).toBe(n);
    }
  }
}

function add(ix: PassageIndex, added: Added, id: number, terms: Map<string, number>): void {
  ix.add(id, [...terms.keys()], [...terms.values()], 10);
  added.set(id, terms);
}

/** Settle `ix` on its own snapshot: every list in the same order, every frequency and the snapshot itself unchanged. */
function settle(ix: PassageIndex, vocabulary: readonly string[]): void {
  const before = ix.snapshot();
  const lists = vocabulary.map((t) => [...ix.lookup(t)]);
  const tfs = vocabulary.map((t) => ix.termFrequencies(t));
  const steps = ix.settleSteps(before);
  let step = steps.next();
  while (!step.done) step = steps.next();
  step.value?.();
  expect(ix.unsettledTerms).toBe(0);
  expect(vocabulary.map((t) => [...ix.lookup(t)])).toEqual(lists);
  expect(vocabulary.map((t) => ix.termFrequencies(t))).toEqual(tfs);
  expect(ix.snapshot()).toEqual(before);
}

describe('PassageIndex', () => {
  const vocabulary = ['a', 'b', 'c', 'd', 'a|b', 'b~c', 'support', '对口支援'];

  it('answers frequencies, slots and lists as added, through removals, re-adds, restarts from a snapshot (taken at once or step by step) and compaction', () => {
    const op = fc.oneof(
      fc.record({
        add: fc.integer({ min: 1, max: 30 }),
        terms: fc.dictionary(fc.constantFrom(...vocabulary), fc.integer({ min: 1, max: 70 }), { minKeys: 1 }),
      }),
      fc.record({ remove: fc.integer({ min: 1, max: 30 }) }),
      // Read back from a snapshot as after a restart, or removed passages' postings dropped.
      fc.constant('restart' as const),
      fc.constant('compact' as const),
      // The snapshot taken a term at a time, removed postings dropped between its steps (as in a serving engine).
      fc.constant('restart-stepwise' as const),
      // Its own snapshot taken as its postings (once persisted, see PassageIndex.settleSteps).
      fc.constant('settle' as const),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const added: Added = new Map();
        let ix = new PassageIndex();
        for (const o of ops) {
          if (o === 'restart') ix = PassageIndex.fromSnapshot(ix.snapshot());
          else if (o === 'restart-stepwise') {
            const steps = ix.snapshotSteps(1);
            let step = steps.next();
            for (let i = 0; !step.done; i++) {
              if (i % 2 === 0) ix.compactPostings();
              step = steps.next();
            }
            expect(step.value).toEqual(ix.snapshot());
            ix = PassageIndex.fromSnapshot(step.value);
          } else if (o === 'settle') settle(ix, vocabulary);
          else if (o === 'compact') ix.compactPostings();
          else if ('add' in o) add(ix, added, o.add, new Map(Object.entries(o.terms)));
          else {
            ix.remove(o.remove);
            added.delete(o.remove);
          }
        }
        expectAgrees(ix, added, vocabulary);
        // Compaction changes no answer, and leaves nothing stale.
        ix.compactPostings();
        expect(ix.stalePostings).toBe(0);
        expectAgrees(ix, added, vocabulary);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every live passage intact when the room of removed ones is reclaimed', () => {
    const ix = new PassageIndex();
    const added: Added = new Map();
    const words = Array.from({ length: 1500 }, (_, i) => `w${i}`);
    const terms = (id: number): Map<string, number> => new Map(words.map((w, i) => [w, 1 + ((id * 7 + i) % 40)]));
    // About 1.5 million numbers of triples, then most of them removed: more dead room than live data.
    for (let id = 1; id <= 340; id++) add(ix, added, id, terms(id));
    for (let id = 1; id <= 300; id++) {
      ix.remove(id);
      added.delete(id);
    }
    for (let id = 341; id <= 350; id++) add(ix, added, id, terms(id));
    expectAgrees(ix, added, ['w0', 'w1', 'w777', 'w1499']);
    for (const [id, t] of added) for (const w of ['w3', 'w900']) expect(ix.frequency(id, w)).toBe(t.get(w));
  });
});
