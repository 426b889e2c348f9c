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

/** Above any passage's number of biwords: a key's first hash and the biword's place share one sort key. */
const PLACES = 2 ** 22;

/**
 * Split analysed terms into single terms and hashed, sorted biword triples
 * (see {@link PackedTerms}).
 * @param counts - how often each term occurs (1 each when omitted)
 * @param into - where to write the triples (at offset 0; a new array when omitted)
 */
export function packTerms(terms: readonly string[], counts: readonly number[] | undefined, into?: Uint32Array): PackedTerms {
  const singles: string[] = [];
  const singleCounts: number[] = [];
  const pairs: string[] = [];
  const pairCounts: number[] = [];
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i]!;
    if (isBiword(t)) {
      pairs.push(t);
      pairCounts.push(counts?.[i] ?? 1);
    } else {
      singles.push(t);
      singleCounts.push(counts?.[i] ?? 1);
    }
  }
  const biwords = into ? into.subarray(0, pairs.length * 3) : new Uint32Array(pairs.length * 3);
  sortedBiwords(pairs, pairCounts, biwords);
  return { terms: singles, counts: singleCounts, biwords };
}

/**
 * Write biwords' `[key1, key2, count]` triples into `out`, sorted by key,
 * biwords of equal keys in the order given. The sort is a typed array's on
 * numbers (a key's first hash, 31 bits once its top bit is set aside, and
 * the biword's place, 22 bits, make one exact 53-bit number); only biwords
 * whose first hashes agree (rare) are then ordered by their second.
 */
export function sortedBiwords(pairs: readonly string[], counts: readonly number[], out: Uint32Array): void {
  const n = pairs.length;
  if (n >= PLACES) throw new Error(`a passage of ${n} distinct biwords`);
  const k1 = new Uint32Array(n);
  const k2 = new Uint32Array(n);
  const order = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // biwordKey's two hashes, in one pass over the text.
    const t = pairs[i]!;
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193;
    for (let c = 0; c < t.length; c++) {
      const u = t.charCodeAt(c);
      h1 = Math.imul((h1 ^ u) >>> 0, 0x01000193) >>> 0;
      h2 = Math.imul((h2 ^ u) >>> 0, 0x01000193) >>> 0;
    }
    k1[i] = ((h1 & 0x7fffffff) | 0x80000000) >>> 0;
    k2[i] = h2 & 0x7fffffff;
    order[i] = (h1 & 0x7fffffff) * PLACES + i;
  }
  order.sort();
  const places = new Int32Array(n);
  for (let j = 0; j < n; j++) places[j] = order[j]! % PLACES;
  for (let j = 0; j < n;) {
    // A run of equal first hashes: by the second, then by place.
    let end = j + 1;
    while (end < n && k1[places[end]!] === k1[places[j]!]) end++;
    if (end - j > 1) places.subarray(j, end).sort((x, y) => k2[x]! - k2[y]! || x - y);
    j = end;
  }
  for (let j = 0; j < n; j++) {
    const i = places[j]!;
    out[3 * j] = k1[i]!;
    out[3 * j + 1] = k2[i]!;
    out[3 * j + 2] = counts[i]!;
  }
}
