/**
 * Biwords reach the index hashed and sorted (term-keys.ts), computed in the
 * worker threads instead of on the main thread: the index built from that
 * form must be the one built from the biword strings, and both must hold
 * exactly the triples the index held before the form existed — every term
 * and biword keyed and sorted together, as an independent oracle below
 * computes them — for Chinese, English, astral characters and biwords alike.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { loadLibrary } from '../src/library/library.js';
import { type IndexSnapshot, PassageIndex } from '../src/pipeline/index.js';
import { prepareDocument } from '../src/pipeline/prepare.js';
import { biwordKey, packTerms, sortedBiwords } from '../src/pipeline/term-keys.js';
import { SAMPLE } from './helpers/sample.js';

/** FNV-1a over UTF-16 code units, 31 bits: the biword hash, written out again for the oracle. */
function fnv(s: string, basis: number): number {
  let h = basis >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul((h ^ s.charCodeAt(i)) >>> 0, 0x01000193) >>> 0;
  return h & 0x7fffffff;
}

/** A passage's triples as the index laid them out before: every term keyed, then one stable sort of all of them. */
function oracleTriples(terms: readonly string[], counts: readonly number[], ids: Map<string, number>): number[] {
  const keyed = terms.map((t, i): [number, number, number] =>
    t.includes('|') || t.includes('~')
      ? [(fnv(t, 0x811c9dc5) | 0x80000000) >>> 0, fnv(t, 0x01000193), counts[i]!]
      : [ids.get(t)!, 0, counts[i]!],
  );
  keyed.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return keyed.flat();
}

/** Every passage's triples in `snap` agree with the oracle, term numbers in first-seen order. */
function expectOracle(snap: IndexSnapshot, passages: ReadonlyArray<{ id: number; terms: string[]; counts: number[] }>): void {
  const ids = new Map<string, number>();
  for (const p of passages) for (const t of p.terms) if (!t.includes('|') && !t.includes('~') && !ids.has(t)) ids.set(t, ids.size);
  expect(snap.termIds === '' ? [] : snap.termIds.split('\n')).toEqual([...ids.keys()]);
  for (const p of passages) {
    const at = snap.freqOff[p.id]!;
    expect([...snap.triples.subarray(at, at + snap.freqLen[p.id]! * 3)], `passage ${p.id}`).toEqual(oracleTriples(p.terms, p.counts, ids));
  }
}

// Han (BMP and astral: 𠀀 U+20000, 𪚥 U+2A6A5), English stems, numbers, and biwords of them, both kinds.
const WORDS = ['对口', '支援', '援疆', '𠀀', '𪚥字', 'support', 'counterpart', '2008', 'a'];
const term = fc.oneof(
  fc.constantFrom(...WORDS),
  fc.tuple(fc.constantFrom(...WORDS), fc.constantFrom('|', '~'), fc.constantFrom(...WORDS)).map(([a, s, b]) => `${a}${s}${b}`),
);

describe('biwords packed in the workers', () => {
  it('index the same triples, term table and postings as biword strings, and as the oracle', () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(term, fc.integer({ min: 1, max: 40 }), { minKeys: 1 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.constantFrom('对口', '口支', '支援', '𠀀𪚥'), { maxLength: 4 }),
        (passages, bigrams) => {
          const plain = new PassageIndex();
          const packed = new PassageIndex();
          const added = passages.map((p, i) => ({ id: i + 1, terms: Object.keys(p), counts: Object.values(p) }));
          for (const p of added) {
            plain.add(p.id, p.terms, p.counts, 7, [...new Set(bigrams)]);
            // As a worker hands them over: one buffer shared by the passages' views.
            const pk = packTerms(p.terms, p.counts, new Uint32Array(p.terms.length * 3 + 6));
            packed.add(p.id, pk.terms, pk.counts, 7, [...new Set(bigrams)], pk.biwords);
          }
          const snap = plain.snapshot();
          expect(packed.snapshot()).toEqual(snap);
          expectOracle(snap, added);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('an engine built from packed documents persists the state of one built from the strings', async () => {
    const docs = (await loadLibrary(SAMPLE)).documents;
    const plain = new Engine();
    const packed = new Engine();
    for (const d of docs) {
      const prep = prepareDocument(d);
      plain.addPrepared(prep);
      const pk = prepareDocument(d, { packed: true });
      expect(pk.passages.map((p) => p.terms.some((t) => t.includes('|') || t.includes('~')))).not.toContain(true);
      packed.addPrepared(pk);
    }
    expect(packed.state()).toEqual(plain.state());
    const snap = plain.state().index;
    expect(snap.triples.length).toBeGreaterThan(0);
    expectOracle(
      snap,
      // In the order they were added (term numbers are given in that order).
      docs.flatMap((doc) => {
        const ids = plain.document(doc.id)!.passages.map((p) => p.id);
        return prepareDocument(doc).passages.map((p, j) => ({ id: ids[j]!, terms: p.terms, counts: p.counts }));
      }),
    );
  });
});

describe('sortedBiwords', () => {
  it('orders biwords whose first hashes agree by the second, then as given', () => {
    // Two biwords with the same first hash (31 bits): found among a few hundred thousand.
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const t = `w${i}|v`;
      const k1 = biwordKey(t)[0];
      const other = seen.get(k1);
      if (other !== undefined) pair = [other, t];
      else seen.set(k1, t);
    }
    const [a, b] = pair;
    expect(biwordKey(a)[0]).toBe(biwordKey(b)[0]);
    const ids = new Map<string, number>();
    for (const terms of [
      [a, b],
      [b, a],
      ['x|y', b, 'z~q', a, 'x|z'],
    ]) {
      const counts = terms.map((_, i) => i + 1);
      expect([...packTerms(terms, counts).biwords]).toEqual(oracleTriples(terms, counts, ids));
      const out = new Uint32Array(terms.length * 3);
      sortedBiwords(terms, counts, out);
      expect([...out]).toEqual(oracleTriples(terms, counts, ids));
    }
  });
});
