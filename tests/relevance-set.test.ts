/**
 * The relevance set behind `npm run eval`: every judgment's quote names
 * exactly one passage of the document it says, so a change to segmentation or
 * to a paper that moves a quote is caught here, not as a silent drop in the
 * figures. Runs on a copy of the corpus.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRelevanceSet, passagesHolding, resolveJudgments } from '../eval/judgments.js';
import { score } from '../eval/metrics.js';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { CorpusDocument } from '../src/core/types.js';

const SET = fileURLToPath(new URL('../eval/relevance.json', import.meta.url));
let dir: string;
let docs: CorpusDocument[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'duikou-relevance-'));
  cpSync(fileURLToPath(new URL('../corpus', import.meta.url)), dir, { recursive: true });
  docs = (await openCorpus(dir)).documents();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('relevance set', () => {
  it('has at least 40 queries, one of them with no relevant passage', () => {
    const set = loadRelevanceSet(SET);
    expect(set.length).toBeGreaterThanOrEqual(40);
    // Its pooled passages may be recorded as read and not relevant (grade 0).
    expect(set.filter((q) => q.judgments.every((j) => j.grade === 0)).length).toBeGreaterThanOrEqual(1);
  });

  it('resolves every quote to exactly one passage of the named document', () => {
    const resolved = resolveJudgments(loadRelevanceSet(SET), docs);
    const judgments = resolved.reduce((n, q) => n + q.judgments.length, 0);
    expect(resolved.reduce((n, q) => n + q.grades.size, 0)).toBe(judgments);
  });

  it('fails loudly on a quote that matches nothing, or more than one passage', () => {
    const q = (quote: string) => ({
      id: 'x',
      query: 'x',
      type: 'x',
      notes: 'x',
      judgments: [{ doc: 'zhou-partner-assistance-overview', grade: 3 as const, quote }],
    });
    expect(() => resolveJudgments([q('no paper says this sentence')], docs)).toThrow(/matches no passage/);
    // "partner assistance" stands in many passages of several papers.
    expect(passagesHolding('partner assistance', docs).length).toBeGreaterThan(1);
    expect(() => resolveJudgments([q('partner assistance')], docs)).toThrow(/ambiguous/);
    // A quote from another paper than the one named.
    expect(() => resolveJudgments([q('对口支援本质上是一种特殊的治理机制')], docs)).toThrow(/is in wang-duikou-zhiyuan-mechanism/);
  });
});

describe('measures', () => {
  const grades = new Map([
    [1, 3],
    [2, 2],
    [3, 1],
  ]);
  it('scores the ideal order 1 and a list without relevant passages 0', () => {
    expect(score([1, 2, 3], grades)).toEqual({ ndcg10: 1, p5: 0.4, recall50: 1, mrr: 1 });
    expect(score([7, 8, 9], grades)).toEqual({ ndcg10: 0, p5: 0, recall50: 0, mrr: 0 });
  });
  it('counts grade 1 for recall but not as relevant for P@5 and MRR', () => {
    const s = score([3, 9, 2], grades);
    expect(s.mrr).toBeCloseTo(1 / 3);
    expect(s.p5).toBeCloseTo(1 / 5);
    expect(s.recall50).toBeCloseTo(2 / 3);
    // DCG (2^1-1)/log2(2) + (2^2-1)/log2(4) over ideal 7 + 3/log2(3) + 1/2.
    expect(s.ndcg10).toBeCloseTo((1 + 3 / 2) / (7 + 3 / Math.log2(3) + 1 / 2));
  });
  it('scores a passage judged 0 as an unjudged one, outside recall', () => {
    const withZero = new Map([...grades, [4, 0]]);
    expect(score([4, 3, 9, 2], withZero)).toEqual(score([4, 3, 9, 2], grades));
    expect(score([1, 2, 3], withZero).recall50).toBe(1);
  });
});
