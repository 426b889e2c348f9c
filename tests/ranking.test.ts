/**
 * Ranking golden set on the real corpus. Each expected position says why it
 * belongs there; a change to scoring that reorders these must explain itself.
 * Hits are identified by the start of their text, not by ids or offsets.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { openCorpus } from '../src/corpus.js';
import type { Engine } from '../src/engine.js';

let engine: Engine;
beforeAll(async () => {
  engine = await openCorpus(fileURLToPath(new URL('../corpus', import.meta.url)));
});

/** The first `n` hits as "docId: text". */
function top(q: string, n: number, expand = true): string[] {
  return engine.search(q, { limit: n, expand }).hits.map((h) => `${h.docId}: ${h.text}`);
}

/** The top hits begin, in order, with the expected "docId: text start" strings. */
function expectTop(q: string, expected: string[]): void {
  const got = top(q, expected.length);
  expect(got.map((g, i) => (g.startsWith(expected[i]!) ? expected[i] : g.slice(0, 80)))).toEqual(expected);
}

describe('ranking golden set', () => {
  it('"key node"', () => {
    expectTop('"key node"', [
      // 1. The section heading is the phrase itself: a heading match counts double.
      'wang-counterpart-support-policy: 3.2.2. Key Nodes',
      // 2. The paragraph under it defines key nodes and uses the phrase twice.
      'wang-counterpart-support-policy: The key nodes of historical institutional',
      // 3. The analytical framework names key nodes once, in a longer paragraph.
      'wang-counterpart-support-policy: Specifically, its analytical steps includ',
    ]);
  });

  it('path dependence (two words, not quoted)', () => {
    expectTop('path dependence', [
      // 1. Heading "Path Dependency": both stems (path, depend), adjacent, in a heading.
      'wang-counterpart-support-policy: 3.2.1. Path Dependency',
      // 2. The section's paragraph: "path-dependent" and "path dependence", both adjacent.
      'wang-counterpart-support-policy: Historical institutionalism holds that in',
      // 3. A short reference whose title has "Path Dependence": short passage, adjacent words.
      'wang-counterpart-support-policy: [11] Zhang, Sun. Historical Institutional',
      // 4. The framework paragraph mentions path dependence among other steps.
      'wang-counterpart-support-policy: Specifically, its analytical steps includ',
    ]);
  });

  it('对口支援 脱贫攻坚', () => {
    expectTop('对口支援 脱贫攻坚', [
      // 1. The heading holds both terms: 对口支援对于巩固脱贫攻坚成果….
      'wang-duikou-zhiyuan-mechanism: (一) 对口支援对于巩固脱贫攻坚成果、接续推进乡村振兴的实践价值',
      // 2. The first paragraph under that heading: both terms, several times.
      'wang-duikou-zhiyuan-mechanism: 无论是脱贫攻坚还是乡村振兴,都是新时代推进全体人民共同富裕道路上的关键节点和必由之',
    ]);
  });

  it('village-resident cadres', () => {
    const hits = top('village-resident cadres', 6);
    // 1. The heading that is about exactly this: "Village-resident cadres and the development of rural governance".
    expect(hits[0]).toMatch(/^li-zhong-personalized-pairing: 2\. Village-resident cadres and the development/);
    // Headings of li-zhong's sections on cadres come before any body paragraph.
    expect(hits.slice(0, 5).every((h) => /: \d(\.\d)?\. /.test(h))).toBe(true);
  });

  it("a translated match ranks below the same paper's own-language match", () => {
    // Nyingchi is found directly in zhou; 林芝 finds the same list item through 林芝地区 (a sub-word) and
    // through the glossary; a passage with the Chinese itself ranks first.
    const hits = engine.search('林芝', { limit: 5 }).hits;
    expect(hits[0]?.docId).toBe('zhou-partner-assistance-overview');
    expect(hits[0]?.matches.some((m) => m.via === undefined)).toBe(true);
  });
});
