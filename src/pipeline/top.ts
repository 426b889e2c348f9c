/**
 * Taking the first k of a ranking without sorting it all. A query with tens
 * of thousands of hits shows twenty; sorting every hit (and checking the
 * whole-query phrase bonus, which reads the passage's tokens, for thousands
 * of them) cost more than scoring them. Here the scored hits stay in typed
 * arrays, a binary heap hands them out best first, and the phrase bonus is
 * checked only until no later hit could reach the page: hits come out in
 * descending score order, so once a hit's score times the bonus is below the
 * k-th best final score, none after it can enter.
 *
 * The order is exactly the full ranking's: score descending, ties by a
 * numeric document-order key (the document's place in id order, then the
 * passage's start), which is what the full ranking's comparator computes.
 */

/** The whole-query phrase bonus, as the full ranking applies it. */
export interface Bonus {
  /** Whether entry `i` gets the bonus (reads the passage: the expensive part). */
  holds: (i: number) => boolean;
  /** Factor applied to the score of an entry that holds it (> 1). */
  factor: number;
  /** Up to this many hits, every hit is checked; above it, only the first {@link Bonus.top}. */
  allBelow: number;
  top: number;
}

/** The first entries of a ranking: indices into the scored arrays, with final scores, best first. */
export interface TopEntries {
  index: number[];
  score: number[];
}

/**
 * The first `k` entries of the ranking of `n` scored entries.
 * @param score - each entry's score before the bonus
 * @param key - each entry's tie-break key (smaller first among equal scores)
 * @param bonus - the whole-query phrase bonus, when the query has one
 */
export function topEntries(score: Float64Array, key: Float64Array, n: number, k: number, bonus?: Bonus): TopEntries {
  const out: TopEntries = { index: [], score: [] };
  if (n === 0 || k <= 0) return out;
  const heap = new ScoreHeap(score, key, n);
  if (!bonus) {
    for (let i = 0; i < k && heap.size > 0; i++) {
      const e = heap.pop();
      out.index.push(e);
      out.score.push(score[e]!);
    }
    return out;
  }
  // The entries the full ranking checks for the bonus: all of a small result, the first `top` of a large one.
  const checked = n <= bonus.allBelow ? n : bonus.top;
  // The best min(k, checked) of them by final score: a bounded heap whose root is the worst kept.
  const want = Math.min(k, checked);
  const kept: Array<{ i: number; s: number }> = [];
  const worse = (a: { i: number; s: number }, b: { i: number; s: number }): boolean => a.s < b.s || (a.s === b.s && key[a.i]! > key[b.i]!);
  for (let popped = 0; popped < checked && heap.size > 0; popped++) {
    const i = heap.peek();
    const s = score[i]!;
    // Entries come best first: once even the bonus cannot lift this one to the worst kept, none after it can.
    if (kept.length === want && s * bonus.factor < kept[0]!.s) break;
    heap.pop();
    const e = { i, s: bonus.holds(i) ? s * bonus.factor : s };
    if (kept.length < want) {
      kept.push(e);
      siftUp(kept, kept.length - 1, worse);
    } else if (worse(kept[0]!, e)) {
      kept[0] = e;
      siftDown(kept, 0, worse);
    }
  }
  kept.sort((a, b) => b.s - a.s || key[a.i]! - key[b.i]!);
  for (const e of kept) {
    out.index.push(e.i);
    out.score.push(e.s);
  }
  // Past the checked entries, the ranking continues in score order, without the bonus.
  if (k > checked) {
    while (out.index.length < k && heap.size > 0) {
      const e = heap.pop();
      out.index.push(e);
      out.score.push(score[e]!);
    }
  }
  return out;
}

/**
 * A max-heap of entry indices, best (highest score, then smallest key) at the
 * root; built in O(n). Written out over typed arrays, as are the kept
 * entries' sifts below, rather than taken from a heap library: with heap-js
 * (its array and comparator), taking the top 20 of 20,000–100,000 scored
 * entries was 6–7× slower (5.4 vs 0.7 ms, 28 vs 4.7 ms), and keeping the
 * best 20 of 1,000 checked for the phrase bonus 8× (0.31 vs 0.04 ms) — on
 * every query's path.
 */
class ScoreHeap {
  private readonly h: Int32Array;
  size: number;

  constructor(
    private readonly score: Float64Array,
    private readonly key: Float64Array,
    n: number,
  ) {
    this.h = new Int32Array(n);
    for (let i = 0; i < n; i++) this.h[i] = i;
    this.size = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private better(a: number, b: number): boolean {
    const sa = this.score[a]!;
    const sb = this.score[b]!;
    return sa > sb || (sa === sb && this.key[a]! < this.key[b]!);
  }

  peek(): number {
    return this.h[0]!;
  }

  pop(): number {
    const top = this.h[0]!;
    this.size--;
    if (this.size > 0) {
      this.h[0] = this.h[this.size]!;
      this.down(0);
    }
    return top;
  }

  private down(i: number): void {
    const h = this.h;
    const n = this.size;
    const x = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.better(h[r]!, h[l]!) ? r : l;
      if (!this.better(h[c]!, x)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = x;
  }
}

function siftUp<T>(a: T[], i: number, worse: (x: T, y: T) => boolean): void {
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!worse(a[i]!, a[parent]!)) break;
    [a[i], a[parent]] = [a[parent]!, a[i]!];
    i = parent;
  }
}

function siftDown<T>(a: T[], i: number, worse: (x: T, y: T) => boolean): void {
  for (;;) {
    const l = 2 * i + 1;
    if (l >= a.length) return;
    const r = l + 1;
    const c = r < a.length && worse(a[r]!, a[l]!) ? r : l;
    if (!worse(a[c]!, a[i]!)) return;
    [a[i], a[c]] = [a[c]!, a[i]!];
    i = c;
  }
}
