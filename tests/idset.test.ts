/**
 * The query's id sets against plain arrays and Sets: membership, size,
 * order, union, and the phrase check, which a set answers once per id
 * (ranking may ask it of the same candidate several times in one query).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdSet } from '../src/pipeline/idset.js';

const ids = fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 300 });

describe('IdSet', () => {
  it('holds the distinct ids given, ascending, and unions like a Set', () => {
    fc.assert(
      fc.property(ids, ids, fc.integer({ min: 0, max: 5100 }), (a, b, probe) => {
        const set = IdSet.of(a);
        const want = [...new Set(a)].sort((x, y) => x - y);
        expect([...set]).toEqual(want);
        expect(set.size).toBe(want.length);
        expect(set.has(probe)).toBe(a.includes(probe));
        const union = IdSet.union([set, IdSet.of(b)]);
        expect([...union]).toEqual([...new Set([...a, ...b])].sort((x, y) => x - y));
      }),
    );
  });

  it('intersects lists (any order, duplicates, none) like Sets, through their bitmaps', () => {
    fc.assert(
      fc.property(fc.array(ids, { maxLength: 4 }), fc.integer({ min: 0, max: 5100 }), (lists, probe) => {
        const set = IdSet.allOf(lists.map((l) => IdSet.bitsOf(Int32Array.from(l))));
        const want =
          lists.length === 0 ? [] : [...new Set(lists[0])].filter((id) => lists.every((l) => l.includes(id))).sort((x, y) => x - y);
        expect([...set]).toEqual(want);
        expect(set.size).toBe(want.length);
        expect(set.has(probe)).toBe(want.includes(probe));
      }),
    );
  });

  it('answers the check as the check does, asking it once per id however often it is asked', () => {
    fc.assert(
      fc.property(ids, fc.integer({ min: 2, max: 7 }), fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 600 }), (a, m, asks) => {
        const set = IdSet.of(a);
        const calls = new Map<number, number>();
        const passes = (id: number): boolean => id % m === 0;
        set.check = (id) => {
          calls.set(id, (calls.get(id) ?? 0) + 1);
          return passes(id);
        };
        // Asked of members in any order and repeatedly, then of every member.
        for (const id of [...asks.filter((x) => set.has(x)), ...asks.filter((x) => set.has(x))]) expect(set.check!(id)).toBe(passes(id));
        expect([...set].filter((id) => set.check!(id))).toEqual([...set].filter(passes));
        expect([...calls.values()].every((n) => n === 1)).toBe(true);
        // A new check starts afresh.
        set.check = (id) => !passes(id);
        expect([...set].filter((id) => set.check!(id))).toEqual([...set].filter((id) => !passes(id)));
        set.check = undefined;
        expect(set.check).toBeUndefined();
      }),
    );
  });
});
