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
    expect(ix.occurs(t), t).toBe(want.length > 0);
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

  it('keeps the postings of a passage added again while the compaction drops its old ones, and can remove it again', () => {
    const ix = new PassageIndex();
    const added: Added = new Map();
    const words = (o: Record<string, number>): Map<string, number> => new Map(Object.entries(o));
    for (let id = 1; id <= 5; id++) add(ix, added, id, words({ a: 1, b: 2 }));
    settle(ix, vocabulary);
    // Passage 6 in FlexSearch, removed: the compaction's pass over FlexSearch's lists is to drop it.
    add(ix, added, 6, words({ a: 1, c: 1 }));
    ix.remove(6);
    added.delete(6);
    const compaction = ix.compactSteps(1, true);
    expect(compaction.next().done).toBe(false);
    // Added again between two steps, with other words: the rest of the pass must leave these alone.
    add(ix, added, 6, words({ a: 3, d: 1 }));
    for (let s = compaction.next(); !s.done; s = compaction.next());
    expectAgrees(ix, added, ['a', 'b', 'c', 'd']);
    ix.remove(6);
    added.delete(6);
    expectAgrees(ix, added, ['a', 'b', 'c', 'd']);
    ix.compactPostings();
    expect(ix.stalePostings).toBe(0);
    expectAgrees(ix, added, ['a', 'b', 'c', 'd']);
  });

  it('compacts a step at a time, each step within its budget of work, to what one pass leaves, while passages come and go between steps', () => {
    const op = fc.oneof(
      fc.record({
        add: fc.integer({ min: 1, max: 30 }),
        terms: fc.dictionary(fc.constantFrom(...vocabulary), fc.integer({ min: 1, max: 70 }), { minKeys: 1 }),
      }),
      fc.record({ remove: fc.integer({ min: 1, max: 30 }) }),
      fc.constant('settle' as const),
    );
    const terms = fc.dictionary(fc.constantFrom(...vocabulary), fc.integer({ min: 1, max: 70 }), { minKeys: 1 });
    // Adds and removals only: after the settle, these stay in FlexSearch (removed ones awaiting the compaction there).
    const change = fc.oneof(
      fc.record({ add: fc.integer({ min: 1, max: 30 }), terms }),
      fc.record({ remove: fc.integer({ min: 1, max: 30 }) }),
    );
    fc.assert(
      fc.property(
        // Passages 1…n first, then anything.
        fc.array(terms, { minLength: 10, maxLength: 30 }),
        fc.array(op, { maxLength: 20 }),
        fc.array(change, { maxLength: 20 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.oneof(op, fc.constant('step' as const)), { maxLength: 40 }),
        fc.integer({ min: 1, max: 40 }),
        (first, before, fresh, stale, during, budget) => {
          const added: Added = new Map();
          // `one` compacts in one pass, `steps` a step at a time; every change reaches both.
          const one = new PassageIndex();
          const steps = new PassageIndex();
          const apply = (o: (typeof before)[number]): void => {
            for (const ix of [one, steps]) {
              if (o === 'settle') settle(ix, vocabulary);
              else if ('add' in o) add(ix, added, o.add, new Map(Object.entries(o.terms)));
              else ix.remove(o.remove);
            }
            if (o !== 'settle' && !('add' in o)) added.delete(o.remove);
          };
          first.forEach((t, i) => apply({ add: i + 1, terms: t }));
          before.forEach(apply);
          // Persisted postings (as after a restart or a write of the state), some of them stale, others in FlexSearch
          // (some of those removed: a passage removed there and added again during the compaction keeps its new postings).
          apply('settle');
          fresh.forEach(apply);
          for (const id of stale) apply({ remove: id });
          one.compactPostings();
          const compaction = steps.compactSteps(budget, true);
          const step = (): boolean => {
            const s = compaction.next();
            if (s.done) return false;
            // Within the budget, or a single item (one term's FlexSearch lists, one passage's triples) costing more alone.
            expect(s.value.work <= budget || s.value.items === 1, JSON.stringify(s.value)).toBe(true);
            return true;
          };
          for (const o of during) {
            if (o !== 'step') apply(o);
            // Every answer as added, between any two steps.
            else if (step()) expectAgrees(steps, added, vocabulary);
          }
          while (step());
          expectAgrees(steps, added, vocabulary);
          // Both compacted to the end: the same postings held, none stale, the same snapshot.
          one.compactPostings();
          steps.compactPostings();
          expect(steps.stalePostings).toBe(0);
          expect(steps.heldRoom.postings).toBe(one.heldRoom.postings);
          expect(steps.snapshot()).toEqual(one.snapshot());
          expectAgrees(steps, added, vocabulary);
          // And every passage can still be removed: none is left listed, whatever the compaction did to its marks.
          for (const id of [...added.keys()]) apply({ remove: id });
          expectAgrees(steps, added, vocabulary);
          expectAgrees(one, added, vocabulary);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reclaims the room of removed passages a few passages per step, every live passage intact between steps', () => {
    const ix = new PassageIndex();
    const added: Added = new Map();
    const words = Array.from({ length: 1500 }, (_, i) => `w${i}`);
    const terms = (id: number): Map<string, number> => new Map(words.map((w, i) => [w, 1 + ((id * 7 + i) % 40)]));
    const check = (): void => {
      expectAgrees(ix, added, ['w0', 'w1', 'w777', 'w1499']);
      for (const [id, t] of added) for (const w of ['w3', 'w900']) expect(ix.frequency(id, w)).toBe(t.get(w));
    };
    // About 1.5 million numbers of triples (two chunks), then most of them removed: more dead room than live data.
    for (let id = 1; id <= 340; id++) add(ix, added, id, terms(id));
    for (let id = 1; id <= 300; id++) {
      ix.remove(id);
      added.delete(id);
    }
    // Removing does not copy the live triples at once (at 100 MB that held the event loop up for 300 ms).
    const held = ix.heldRoom.tripleBytes;
    expect(ix.compactionDue()).toBe(true);
    // A passage holds 1,500 triples: three of them fit a step.
    const budget = 5000;
    const compaction = ix.compactSteps(budget);
    let steps = 0;
    for (let s = compaction.next(); !s.done; s = compaction.next()) {
      expect(s.value.work <= budget || s.value.items === 1).toBe(true);
      steps++;
      // Passages come and go between steps.
      if (steps === 20) add(ix, added, 341 + (steps % 10), terms(steps));
      if (steps === 40) {
        ix.remove(330);
        added.delete(330);
      }
      if (steps === 30 || steps === 60) check();
    }
    // 340 passages, 1,501 units of work each with its triples: at least a step per three of them.
    expect(steps).toBeGreaterThanOrEqual(100);
    for (let id = 342; id <= 350; id++) add(ix, added, id, terms(id));
    check();
    expect(ix.heldRoom.tripleBytes).toBeLessThan(held);
  });
});
