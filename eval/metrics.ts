/**
 * Ranking measures over graded judgments (grades 0–3; unjudged = 0, as is a
 * passage judged 0).
 *
 * - nDCG@k: gain 2^grade − 1, discount log2(rank + 1), divided by the DCG of
 *   the judged passages in the best possible order.
 * - P@k: share of the first k results graded 2 or 3 ("relevant" means
 *   substantially relevant; a passage that only mentions the query is not).
 * - recall@k: share of the passages graded 1–3 found in the first k results.
 * - MRR: 1 / rank of the first result graded 2 or 3 (0 if none in the list).
 */

/** Measures of one ranked list. */
export interface Scores {
  ndcg10: number;
  p5: number;
  recall50: number;
  mrr: number;
}

/** The grade at or above which a passage counts as relevant for P@k and MRR. */
export const RELEVANT = 2;

const gain = (g: number): number => 2 ** g - 1;

function dcg(grades: readonly number[], k: number): number {
  let sum = 0;
  grades.slice(0, k).forEach((g, i) => (sum += gain(g) / Math.log2(i + 2)));
  return sum;
}

/**
 * Score a ranked list of passage ids against a query's judgments.
 * @param ranked - passage ids, best first
 * @param grades - judged passage id → grade (0–3; a 0 was read and found not
 *   relevant, and scores as an unjudged passage does); at least one must be ≥ 1
 */
export function score(ranked: readonly number[], grades: ReadonlyMap<number, number>): Scores {
  const got = ranked.map((id) => grades.get(id) ?? 0);
  const ideal = [...grades.values()].sort((a, b) => b - a);
  const first = got.findIndex((g) => g >= RELEVANT);
  const top50 = new Set(ranked.slice(0, 50));
  const judged = [...grades].filter(([, g]) => g >= 1).map(([id]) => id);
  return {
    ndcg10: dcg(got, 10) / dcg(ideal, 10),
    p5: got.slice(0, 5).filter((g) => g >= RELEVANT).length / 5,
    recall50: judged.filter((id) => top50.has(id)).length / judged.length,
    mrr: first < 0 ? 0 : 1 / (first + 1),
  };
}

/** The mean of each measure over several lists. */
export function mean(all: readonly Scores[]): Scores {
  const avg = (f: (s: Scores) => number): number => all.reduce((sum, s) => sum + f(s), 0) / Math.max(1, all.length);
  return { ndcg10: avg((s) => s.ndcg10), p5: avg((s) => s.p5), recall50: avg((s) => s.recall50), mrr: avg((s) => s.mrr) };
}
