/**
 * Taking the first entries by exact score from entries known by an upper
 * bound, scoring as few as the order allows (MaxScore's stopping rule): what
 * every pass of the top-k ranking ends with.
 */

/**
 * The `want` entries with the highest exact scores (ties by key), best first,
 * scoring entries in descending order of their bounds and stopping when the
 * next bound is below the worst score kept.
 * With `reach` above 1, also every entry whose score times `reach` is at
 * least the want-th best score: the entries a boost by at most `reach` could
 * lift into the first `want` (so the result is the ranking's beginning up to
 * the last entry that could), cut at max(`want`, `cap`) entries: a boost that reaches only
 * the ranking's first `cap` cannot lift an entry from beyond them, so once the
 * first `cap` are settled the rest need no exact score.
 * @param bounds - each entry's upper bound (replaced by its score once `score` is called)
 */
export function firstByScore(
  bounds: Float64Array,
  n: number,
  want: number,
  score: (i: number) => number,
  keyOf: (i: number) => number,
  reach: number,
  cap = Infinity,
): number[] {
  // A max-heap of entries by bound.
  const heap = new Int32Array(n);
  for (let i = 0; i < n; i++) heap[i] = i;
  let size = n;
  const down = (at: number): void => {
    const x = heap[at]!;
    for (;;) {
      const l = 2 * at + 1;
      if (l >= size) break;
      const r = l + 1;
      const c = r < size && bounds[heap[r]!]! > bounds[heap[l]!]! ? r : l;
      if (!(bounds[heap[c]!]! > bounds[x]!)) break;
      heap[at] = heap[c]!;
      at = c;
    }
    heap[at] = x;
  };
  for (let i = (n >> 1) - 1; i >= 0; i--) down(i);
  // The best `want` so far, worst at the root.
  const kept: number[] = [];
  const worse = (a: number, b: number): boolean => bounds[a]! < bounds[b]! || (bounds[a]! === bounds[b]! && keyOf(a) > keyOf(b));
  const siftUp = (at: number): void => {
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!worse(kept[at]!, kept[parent]!)) break;
      [kept[at], kept[parent]] = [kept[parent]!, kept[at]!];
      at = parent;
    }
  };
  const siftDown = (at: number): void => {
    for (;;) {
      const l = 2 * at + 1;
      if (l >= kept.length) return;
      const r = l + 1;
      const c = r < kept.length && worse(kept[r]!, kept[l]!) ? r : l;
      if (!worse(kept[c]!, kept[at]!)) return;
      [kept[at], kept[c]] = [kept[c]!, kept[at]!];
      at = c;
    }
  };
  /** Every entry scored (for `reach`). */
  const scored: number[] = [];
  /** With `reach`, the best `cap` scores so far, lowest at the root (a plain min-heap of scores). */
  const capped = reach > 1 && cap > want && Number.isFinite(cap) ? new Float64Array(cap) : null;
  let cappedSize = 0;
  const pushCapped = (v: number): void => {
    if (capped === null) return;
    if (cappedSize < capped.length) {
      let at = cappedSize++;
      while (at > 0 && capped[(at - 1) >> 1]! > v) {
        capped[at] = capped[(at - 1) >> 1]!;
        at = (at - 1) >> 1;
      }
      capped[at] = v;
      return;
    }
    if (v <= capped[0]!) return;
    let at = 0;
    for (;;) {
      const l = 2 * at + 1;
      if (l >= cappedSize) break;
      const c = l + 1 < cappedSize && capped[l + 1]! < capped[l]! ? l + 1 : l;
      if (!(capped[c]! < v)) break;
      capped[at] = capped[c]!;
      at = c;
    }
    capped[at] = v;
  };
  while (size > 0 && want > 0) {
    const i = heap[0]!;
    // Bounds come highest first: once one (times the reach) is below the worst score kept, nothing after it can enter.
    if (kept.length === want && bounds[i]! * reach < bounds[kept[0]!]!) break;
    // Nor, once the ranking's first `cap` are settled (no later bound reaches the cap-th score), can anything after them.
    if (capped !== null && cappedSize === capped.length && bounds[i]! < capped[0]!) break;
    size--;
    if (size > 0) {
      heap[0] = heap[size]!;
      down(0);
    }
    if (score(i) === -Infinity) continue;
    if (reach > 1) {
      scored.push(i);
      pushCapped(bounds[i]!);
    }
    if (kept.length < want) {
      kept.push(i);
      siftUp(kept.length - 1);
    } else if (worse(kept[0]!, i)) {
      kept[0] = i;
      siftDown(0);
    }
  }
  const byScore = (a: number, b: number): number => bounds[b]! - bounds[a]! || keyOf(a) - keyOf(b);
  if (reach === 1 || kept.length < want) return kept.sort(byScore);
  const worst = bounds[kept[0]!]!;
  return scored
    .sort(byScore)
    .slice(0, Math.max(want, cap))
    .filter((i) => bounds[i]! * reach >= worst);
}

/** The indices of the `want` largest of `values[0..n)` (ties in any order). */
export function highest(values: Float64Array, n: number, want: number): number[] {
  // A min-heap of `want` indices by value: most entries are below its root and cost one comparison.
  const heap = new Int32Array(want);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (size < want) {
      let at = size++;
      while (at > 0 && values[heap[(at - 1) >> 1]!]! > v) {
        heap[at] = heap[(at - 1) >> 1]!;
        at = (at - 1) >> 1;
      }
      heap[at] = i;
      continue;
    }
    if (!(v > values[heap[0]!]!)) continue;
    let at = 0;
    for (;;) {
      const l = 2 * at + 1;
      if (l >= size) break;
      const c = l + 1 < size && values[heap[l + 1]!]! < values[heap[l]!]! ? l + 1 : l;
      if (!(values[heap[c]!]! < v)) break;
      heap[at] = heap[c]!;
      at = c;
    }
    heap[at] = i;
  }
  return Array.from(heap.subarray(0, size));
}

/**
 * The want-th best exact score among the `want` entries of highest bound
 * (`score` gives an entry's exact score, -Infinity for no hit, and is
 * expected to remember it): at most the ranking's want-th best score, so an
 * entry bounded below it cannot enter the first `want`. -Infinity when
 * fewer than `want` of them are hits.
 */
export function wantthScore(bounds: Float64Array, n: number, want: number, score: (i: number) => number): number {
  const best = highest(bounds, n, want);
  const scores = new Float64Array(best.length);
  let m = 0;
  for (const i of best) {
    const s = score(i);
    if (s !== -Infinity) scores[m++] = s;
  }
  return m < want ? -Infinity : scores.subarray(0, m).sort()[m - want]!;
}
