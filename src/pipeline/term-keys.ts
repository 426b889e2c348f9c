/**
 * The keys the index stores a passage's frequencies under (see
 * PassageIndex): a single term by its number in the index's term table, a
 * biword (`a|b`, `a~b`) by two hashes of its text. A biword's key needs no
 * table, so it can be computed where the passage is analysed — in a worker
 * thread — and sent to the index as numbers instead of strings.
 */

/** Whether an analysed term is a biword (two words standing together, see `biword` in analyze.ts). */
export function isBiword(term: string): boolean {
  return term.includes('|') || term.includes('~');
}

/** 32-bit FNV-1a over UTF-16 code units, from the given offset basis (31 bits kept). */
function fnv1a(s: string, basis: number): number {
  let h = basis >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff;
}

/**
 * A biword's packed key: two independent 31-bit hashes, the first with the
 * top bit set, so a biword's key sorts after every single term's (whose
 * numbers stay below 2^31) and a chance collision needs both hashes to agree
 * (about 1 in 2^62).
 */
export function biwordKey(term: string): [number, number] {
  return [(fnv1a(term, 0x811c9dc5) | 0x80000000) >>> 0, fnv1a(term, 0x01000193) >>> 0];
}

/**
 * A passage's terms split for the index: its single terms with their counts
 * (in the order given), and its biwords as `[key1, key2, count]` triples
 * sorted by key — the order the index stores them in, biwords of equal keys
 * kept in the order given.
 */
export interface PackedTerms {
  terms: string[];
  counts: number[];
  biwords: Uint32Array;
}

/**
 * Split analysed terms into single terms and hashed, sorted biword triples
 * (see {@link PackedTerms}).
 * @param counts - how often each term occurs (1 each when omitted)
 * @param into - where to write the triples (at offset 0; a new array when omitted)
 */
export function packTerms(terms: readonly string[], counts: readonly number[] | undefined, into?: Uint32Array): PackedTerms {
  const singles: string[] = [];
  const singleCounts: number[] = [];
  const keys: number[] = [];
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i]!;
    const c = counts?.[i] ?? 1;
    if (isBiword(t)) {
      const [k1, k2] = biwordKey(t);
      keys.push(k1, k2, c);
    } else {
      singles.push(t);
      singleCounts.push(c);
    }
  }
  const n = keys.length / 3;
  // Sort the triples' positions by key (stable: Array.prototype.sort is), then lay them out in that order.
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => keys[3 * a]! - keys[3 * b]! || keys[3 * a + 1]! - keys[3 * b + 1]!);
  const out = into ?? new Uint32Array(n * 3);
  for (let j = 0; j < n; j++) {
    const i = order[j]!;
    out[3 * j] = keys[3 * i]!;
    out[3 * j + 1] = keys[3 * i + 1]!;
    out[3 * j + 2] = keys[3 * i + 2]!;
  }
  return { terms: singles, counts: singleCounts, biwords: into ? out.subarray(0, n * 3) : out };
}
