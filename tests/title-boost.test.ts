/**
 * The title boost: a passage in a paper whose title mentions the query counts
 * 1.2× (scores are rounded to 3 decimals, so compared to 2). A word is mentioned wherever it stands in the title; a phrase only in
 * its order. Three papers hold the same paragraph and differ only in title.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { TITLE_BOOST } from '../src/pipeline/rank-score.js';
import { paper } from './helpers/paper.js';

const BODY = 'Counterpart support shows path dependence in its institutions over seventy years.';
const TITLES = {
  ordered: 'Path Dependence in Counterpart Support',
  reversed: 'The Dependence of Aid on the Path Taken',
  none: 'Aid Between Provinces',
  chinese: '对口支援的路径依赖',
};

const engine = new Engine();
for (const [id, title] of Object.entries(TITLES))
  engine.addDocument(paper(id, `${title}\n\n${BODY}\n\n对口支援的路径依赖。`, 'en', { title }));

/** Each paper's score for its paragraph, by paper id. */
function scores(q: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of engine.search(q, { match: 'strict', expand: false, limit: 50 }).hits)
    if (h.kind === 'paragraph' && h.text.startsWith('Counterpart')) out[h.docId] = h.score;
  return out;
}

describe('the title boost', () => {
  it.each([
    // [query, the papers whose title mentions it]
    ['dependence', ['ordered', 'reversed']],
    ['path dependence', ['ordered', 'reversed']],
    ['"path dependence"', ['ordered']],
    ['dependence path', ['ordered', 'reversed']],
    ['counterpart', ['ordered']],
    ['institutions', []],
  ] as const)('%s: boosted in %j', (q, boosted) => {
    const s = scores(q);
    expect(Object.keys(s).sort()).toEqual(Object.keys(TITLES).sort());
    const plain = s.none!;
    for (const id of Object.keys(TITLES)) {
      const factor = (boosted as readonly string[]).includes(id) ? TITLE_BOOST : 1;
      expect(s[id], `${q} in ${id}`).toBeCloseTo(plain * factor, 2);
    }
  });

  it('a Chinese title mentions a Chinese word of the query', () => {
    const hits = engine
      .search('路径依赖', { match: 'strict', expand: false, limit: 50 })
      .hits.filter((h) => h.text.startsWith('对口支援的路径依赖。'));
    const byDoc = Object.fromEntries(hits.map((h) => [h.docId, h.score]));
    expect(byDoc.chinese).toBeCloseTo(byDoc.none! * TITLE_BOOST, 2);
    expect(byDoc.ordered).toBeCloseTo(byDoc.none!, 2);
  });
});
