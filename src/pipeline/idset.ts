/**
 * A set of passage ids for one query: the ids ascending in a typed array, and
 * a bitmap over them for membership. Ranking asks "does this candidate hold
 * that variant?" once per candidate and variant — tens of thousands of times
 * for a frequent term with its glossary translations — and a bit test costs a
 * fraction of a hash-set lookup, while a bitmap of every passage id costs one
 * bit per passage. Written out rather than taken from TypedFastBitSet: with
 * it in place, measured on the benchmark's queries at 10 MB, frequent terms,
 * phrases and OR queries were 1.3–2× slower (`support` 1.34 vs 0.98 ms,
 * `"key node"` 0.73 vs 0.35 ms, `援藏 OR 援疆` 0.53 vs 0.29 ms).
 */
export class IdSet implements Iterable<number> {
  /** The ids, ascending. */
  readonly ids: Int32Array;
  /**
   * For the candidates of a one-word variant: how often the word occurs in
   * each passage, by id (0xffff: that many or more, ask the index).
   */
  frequencies?: Uint16Array;
  private remembered?: (id: number) => boolean;
  private readonly bits: Uint32Array;

  private constructor(ids: Int32Array, bits: Uint32Array) {
    this.ids = ids;
    this.bits = bits;
  }

  /** The set of the given ids (any order, duplicates allowed). */
  static of(list: ArrayLike<number>): IdSet {
    let max = -1;
    for (let i = 0; i < list.length; i++) if (list[i]! > max) max = list[i]!;
    const bits = new Uint32Array((max >> 5) + 1);
    let n = 0;
    for (let i = 0; i < list.length; i++) {
      const id = list[i]!;
      const w = id >> 5;
      const b = 1 << (id & 31);
      if ((bits[w]! & b) === 0) {
        bits[w] = bits[w]! | b;
        n++;
      }
    }
    return new IdSet(idsOf(bits, n), bits);
  }

  /**
   * Set when the members are candidates still to be checked (a phrase's
   * passages holding all its words, not yet known to hold its biwords): the
   * check, per id. Scoring checks the members it looks at, and only those.
   * Each id is checked once: the answer is kept (a
   * set lives for one query, over an index that does not change meanwhile),
   * since a candidate may be asked again — by the counting pass, then by an
   * exclusion, or through a second variant with the same words
   * (`pairing assistance` and `paired assistance` share one set).
   */
  get check(): ((id: number) => boolean) | undefined {
    return this.remembered;
  }

  set check(test: ((id: number) => boolean) | undefined) {
    if (test === undefined) {
      this.remembered = undefined;
      return;
    }
    /** By id: 0 not checked yet, 1 fails, 2 passes. */
    let answers: Uint8Array | undefined;
    this.remembered = (id) => {
      answers ??= new Uint8Array(this.bits.length * 32);
      let a = answers[id];
      if (a === undefined) return test(id);
      if (a === 0) answers[id] = a = test(id) ? 2 : 1;
      return a === 2;
    };
  }

  /** The ids in any of the sets. */
  static union(sets: readonly IdSet[]): IdSet {
    if (sets.length === 1) return sets[0]!;
    let words = 0;
    for (const s of sets) words = Math.max(words, s.bits.length);
    const bits = new Uint32Array(words);
    for (const s of sets) for (let w = 0; w < s.bits.length; w++) bits[w] = bits[w]! | s.bits[w]!;
    let n = 0;
    for (let w = 0; w < words; w++) n += popcount(bits[w]!);
    return new IdSet(idsOf(bits, n), bits);
  }

  /**
   * A set of the same members (sharing its arrays) with no check of its own:
   * a translation's phrase and its bag of words hold the same words, and only
   * the phrase's candidates are checked for its biwords.
   */
  members(): IdSet {
    return new IdSet(this.ids, this.bits);
  }

  /**
   * A bitmap of the ids (any order, duplicates allowed), one bit per id: what
   * {@link allOf} intersects. A query's word in several phrases (`assist` in
   * three translations of 对口支援) is marked once.
   */
  static bitsOf(list: ArrayLike<number>): Uint32Array {
    let max = -1;
    for (let i = 0; i < list.length; i++) if (list[i]! > max) max = list[i]!;
    const bits = new Uint32Array((max >> 5) + 1);
    for (let i = 0; i < list.length; i++) bits[list[i]! >> 5] = bits[list[i]! >> 5]! | (1 << (list[i]! & 31));
    return bits;
  }

  /**
   * The ids set in every one of the bitmaps ({@link bitsOf}), a word of 32
   * ids at a time: cheaper than marking each list's ids again for every
   * pair of words a query's phrases intersect. A single bitmap is kept as
   * the set's own, not copied (bitmaps are never changed once made).
   */
  static allOf(maps: readonly Uint32Array[]): IdSet {
    if (maps.length === 0) return IdSet.of([]);
    let words = Infinity;
    for (const m of maps) words = Math.min(words, m.length);
    let bits: Uint32Array;
    if (maps.length === 1) bits = maps[0]!;
    else {
      bits = new Uint32Array(words);
      const first = maps[0]!;
      for (let w = 0; w < words; w++) bits[w] = first[w]!;
      for (let k = 1; k < maps.length; k++) {
        const m = maps[k]!;
        for (let w = 0; w < words; w++) bits[w] = bits[w]! & m[w]!;
      }
    }
    let n = 0;
    for (let w = 0; w < bits.length; w++) if (bits[w] !== 0) n += popcount(bits[w]!);
    return new IdSet(idsOf(bits, n), bits);
  }

  has(id: number): boolean {
    const w = id >> 5;
    return w < this.bits.length && (this.bits[w]! & (1 << (id & 31))) !== 0;
  }

  get size(): number {
    return this.ids.length;
  }

  [Symbol.iterator](): Iterator<number> {
    return this.ids[Symbol.iterator]();
  }
}

/** The set bits' positions, ascending. */
function idsOf(bits: Uint32Array, n: number): Int32Array {
  const ids = new Int32Array(n);
  let k = 0;
  for (let w = 0; w < bits.length; w++) {
    let x = bits[w]!;
    while (x !== 0) {
      const low = x & -x;
      ids[k++] = (w << 5) | (31 - Math.clz32(low));
      x ^= low;
    }
  }
  return ids;
}

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
