/**
 * A set of passage ids for one query: the ids ascending in a typed array, and
 * a bitmap over them for membership. Ranking asks "does this candidate hold
 * that variant?" once per candidate and variant — tens of thousands of times
 * for a frequent term with its glossary translations — and a bit test costs a
 * fraction of a hash-set lookup, while a bitmap of every passage id costs one
 * bit per passage. The bitmap is Lemire's TypedFastBitSet.
 */
import { TypedFastBitSet } from 'typedfastbitset';

/** Passage ids: ascending, with a bitmap for membership (see the module's comment). */
export class IdSet implements Iterable<number> {
  /** The ids, ascending. */
  readonly ids: Int32Array;
  /**
   * For the candidates of a one-word variant: how often the word occurs in
   * each passage, by id (0xffff: that many or more, ask the index).
   */
  frequencies?: Uint16Array;
  /**
   * Set when the members are candidates still to be checked (a phrase's
   * passages holding all its words, not yet known to hold its biwords): the
   * check, per id. Scoring checks the members it looks at; the exact count is
   * {@link verified}'s size.
   */
  check?: (id: number) => boolean;
  private checked?: IdSet;
  private readonly bits: TypedFastBitSet;

  private constructor(ids: Int32Array, bits: TypedFastBitSet) {
    this.ids = ids;
    this.bits = bits;
  }

  /** The set of the given ids (any order, duplicates allowed). */
  static of(list: ArrayLike<number>): IdSet {
    let max = -1;
    for (let i = 0; i < list.length; i++) if (list[i]! > max) max = list[i]!;
    // Sized for the largest id at once, so adding never grows it.
    const bits = TypedFastBitSet.fromWords(new Uint32Array((max >> 5) + 1));
    let n = 0;
    for (let i = 0; i < list.length; i++) n += bits.checkedAdd(list[i]!);
    return new IdSet(idsOf(bits, n), bits);
  }

  /** The ids in any of the sets. */
  static union(sets: readonly IdSet[]): IdSet {
    if (sets.length === 1) return sets[0]!;
    let words = 0;
    for (const s of sets) words = Math.max(words, s.bits.words.length);
    const bits = TypedFastBitSet.fromWords(new Uint32Array(words));
    for (const s of sets) bits.union(s.bits);
    return new IdSet(idsOf(bits, bits.size()), bits);
  }

  /** The ids of this set that `keep` accepts. */
  filter(keep: (id: number) => boolean): IdSet {
    const kept: number[] = [];
    for (const id of this.ids) if (keep(id)) kept.push(id);
    return IdSet.of(kept);
  }

  /** The members that pass {@link check} (this set when there is none), computed once. */
  verified(): IdSet {
    if (!this.check) return this;
    return (this.checked ??= this.filter(this.check));
  }

  has(id: number): boolean {
    return this.bits.has(id);
  }

  get size(): number {
    return this.ids.length;
  }

  [Symbol.iterator](): Iterator<number> {
    return this.ids[Symbol.iterator]();
  }
}

/** The set bits' positions, ascending (`n` of them). */
function idsOf(bits: TypedFastBitSet, n: number): Int32Array {
  const ids = new Int32Array(n);
  let k = 0;
  bits.forEach((id) => {
    ids[k++] = id;
  });
  return ids;
}
