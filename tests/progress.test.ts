import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MIN_ELAPSED_MS, MIN_FRACTION_DONE, estimateRemaining } from '../src/library/progress.js';

describe('estimateRemaining', () => {
  it.each([
    ['nothing done yet', 5000, 0, 100, null],
    ['too early, however much is done', MIN_ELAPSED_MS - 1, 50, 100, null],
    ['too little done, however long it took', 60_000, 9, 100, null],
    ['the first file of a 7 s job (the case that said 5005 s)', 700, 1, 700, null],
    ['everything done', 9000, 100, 100, null],
    ['half done in 4 s', 4000, 50, 100, 4000],
    ['a tenth done in 2 s', 2000, 10, 100, 18_000],
  ])('%s', (_what, elapsed, done, total, expected) => {
    expect(estimateRemaining(elapsed, done, total)).toBe(expected);
  });

  it('is null or the linear extrapolation, never negative', () => {
    fc.assert(
      fc.property(fc.nat(1e7), fc.nat(1e9), fc.nat(1e9), (elapsed, done, total) => {
        const eta = estimateRemaining(elapsed, done, total);
        const enough = total > 0 && done > 0 && done < total && elapsed >= MIN_ELAPSED_MS && done / total >= MIN_FRACTION_DONE;
        if (!enough) expect(eta).toBeNull();
        else {
          expect(eta).toBeGreaterThanOrEqual(0);
          expect(eta).toBe(Math.round((elapsed / done) * (total - done)));
        }
      }),
    );
  });
});
