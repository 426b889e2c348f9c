/**
 * Ranking golden set on the real corpus. Each expected position says why it
 * belongs there; a change to scoring that reorders these must explain itself.
 * Hits are identified by the start of their text, not by ids or offsets.
 *
 * Runs on both backends (tests/helpers/both-backends.ts): on PostgreSQL every
 * query goes to an index of the same papers in a fresh database, which must
 * answer with the embedded engine's totals, mode and page (the same passages
 * in the same order, with the same scores and match offsets), and the golden
 * expectations are then checked on PostgreSQL's own answer.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Passage } from '../src/core/types.js';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import type { SearchHit, SearchOptions, SearchResult } from '../src/backends/search-contract.js';
import { prepareDocument } from '../src/pipeline/prepare.js';
import { PgSearchBackend } from '../src/backends/postgres/search.js';
import { loadGlossary } from '../src/pipeline/glossary.js';
import { parseQuery } from '../src/pipeline/query.js';
import { isSummary } from '../src/pipeline/summary.js';
import { TEST_BACKEND } from './helpers/backends.js';
import { type TestDatabase, createTestDatabase, testPool } from './helpers/postgres.js';
import { SAMPLE } from './helpers/sample.js';

let engine: Engine;
let tdb: TestDatabase | undefined;
let pool: pg.Pool | undefined;
let pgSearch: PgSearchBackend | undefined;
beforeAll(async () => {
  engine = await openCorpus(SAMPLE);
  if (TEST_BACKEND !== 'postgres') return;
  const url = process.env.DUIKOU_TEST_DATABASE_URL;
  if (!url) throw new Error('DUIKOU_TEST_BACKEND=postgres needs DUIKOU_TEST_DATABASE_URL (see scripts/pg-test-server.sh)');
  tdb = await createTestDatabase(url);
  pool = testPool(tdb.url, 4);
  pgSearch = await PgSearchBackend.open(pool, loadGlossary(SAMPLE));
  for (const d of engine.documents()) {
    const { passages: _passages, ...loaded } = d;
    await pgSearch.indexDocument(prepareDocument(loaded));
  }
});
afterAll(async () => {
  await pool?.end();
  await tdb?.drop();
});

/** What hits should be compared by on both backends (passage ids are each backend's own). */
const shape = (r: SearchResult) => r.hits.map((h) => [h.docId, h.start, h.end, h.kind, h.score, h.matches]);

/**
 * A search on the backend under test. On PostgreSQL the answer must be the
 * embedded engine's: the same totals and mode, the same page in the same order.
 */
async function search(q: string, opts: SearchOptions = {}): Promise<SearchResult> {
  const theirs = engine.search(q, opts);
  if (!pgSearch) return theirs;
  const mine = await pgSearch.search(q, parseQuery(q), opts);
  expect(mine.total, `total of ${q}`).toBe(theirs.total);
  expect(mine.strictTotal, `strict total of ${q}`).toBe(theirs.strictTotal);
  expect(mine.mode, `mode of ${q}`).toBe(theirs.mode);
  expect(mine.perDocument, `per paper of ${q}`).toEqual(theirs.perDocument);
  expect(shape(mine), `page of ${q}`).toEqual(shape(theirs));
  return mine;
}

/**
 * Whether a footnote hit only cites a source, judged on the embedded engine's
 * passage at the same place (passage ids are each backend's own; the page was
 * checked to be the same passages).
 */
const citesOnly = (h: SearchHit): boolean => {
  const p = engine.requireDocument(h.docId).passages.find((q) => q.start === h.start && q.end === h.end);
  if (!p) throw new Error(`no passage at ${h.docId}@${h.start}`);
  return engine.citesOnly(p.id);
};

/** The first `n` hits as "docId: text". */
async function top(q: string, n: number, expand = true): Promise<string[]> {
  return (await search(q, { limit: n, expand })).hits.map((h) => `${h.docId}: ${h.text}`);
}

/** The top hits begin, in order, with the expected "docId: text start" strings. */
async function expectTop(q: string, expected: string[]): Promise<void> {
  const got = await top(q, expected.length);
  expect(got.map((g, i) => (g.startsWith(expected[i]!) ? expected[i] : g.slice(0, 80)))).toEqual(expected);
}

describe('ranking golden set', () => {
  it('"key node"', async () => {
    await expectTop('"key node"', [
      // 1. The paragraph that defines key nodes and uses the phrase twice: it discusses the term.
      'wang-counterpart-support-policy: The key nodes of historical institutional',
      // 2. The analytical framework names key nodes once, in a longer paragraph.
      'wang-counterpart-support-policy: Specifically, its analytical steps includ',
      // 3. The section heading is the phrase itself, but a heading only names the topic (kind prior 0.4).
      'wang-counterpart-support-policy: 3.2.2. Key Nodes',
    ]);
  });

  it('path dependence (two words, not quoted)', async () => {
    // Only 5 passages hold both words, so best match ranks them first, then those with one of them.
    expect((await search('path dependence')).mode).toBe('best');
    await expectTop('path dependence', [
      // 1. The section's paragraph: "path-dependent" and "path dependence", both adjacent.
      'wang-counterpart-support-policy: Historical institutionalism holds that in',
      // 2. The framework paragraph names path dependence among its steps.
      'wang-counterpart-support-policy: Specifically, its analytical steps includ',
      // 3. The abstract says the system "has shown obvious path dependence" once, in a long paragraph. It and
      //    the heading below score within 0.1 %; the Chinese papers' years and numbers are now words of their
      //    own (2008年 → 2008 + 年), which lengthens the average passage and tips the tie to the paragraph
      //    that discusses the term.
      'wang-counterpart-support-policy: Coordinated regional development is inext',
      // 4. The heading "Path Dependency": both stems, but a heading (prior 0.4) in a six-word passage.
      'wang-counterpart-support-policy: 3.2.1. Path Dependency',
      // 5. A reference whose title has "Path Dependence": a cited title, below the paragraphs (prior 0.3).
      'wang-counterpart-support-policy: [11] Zhang, Sun. Historical Institutional',
      // 6–8. The rest of the section "3.2.1. Path Dependency", whose heading names both words: its
      //      paragraphs on the coordination and learning effects discuss path dependence without
      //      naming it. They count as holding the heading's words (a score of 2, nothing for weight),
      //      below every passage holding both itself, in document order.
      'wang-counterpart-support-policy: The first is that the development process',
      'wang-counterpart-support-policy: The process of development of the counter',
      'wang-counterpart-support-policy: Finally, the process of development of th',
    ]);
    // 9. Then the passages holding one of the words ("depends on the promotion system").
    const ninth = (await search('path dependence', { limit: 9 })).hits[8]!;
    expect(ninth.score).toBeLessThan(2);
    expect(ninth.section).not.toBe('3.2.1. Path Dependency');
  });

  it('对口支援 脱贫攻坚', async () => {
    await expectTop('对口支援 脱贫攻坚', [
      // 1. The abstract: both terms, in the paper's own summary (summaries weigh a little more).
      'wang-duikou-zhiyuan-mechanism: 摘要:对口支援是中国特色国家治理的重要方式和机制',
      // 2. The first paragraph under the heading on poverty alleviation and rural revitalisation: both terms, several times.
      'wang-duikou-zhiyuan-mechanism: 无论是脱贫攻坚还是乡村振兴,都是新时代推进全体人民共同富裕道路上的关键节点和必由之',
      // 3. The party-and-government mechanism paragraph: 对口支援 three times, 脱贫攻坚 twice, in a short paragraph.
      'wang-duikou-zhiyuan-mechanism: 首先,党政机制是对口支援的核心机制',
    ]);
  });

  it('village-resident cadres', async () => {
    const hits = await top('village-resident cadres', 8);
    // 1. The literature review on village-resident cadres: the phrase nine times in one paragraph.
    expect(hits[0]).toMatch(/^li-zhong-personalized-pairing: In China's governance context/);
    // The first results are paragraphs that discuss the cadres; the section headings that only name them come later.
    expect(hits.every((h) => !/: \d(\.\d)?\. /.test(h))).toBe(true);
  });

  it("a translated match ranks below the same paper's own-language match", async () => {
    // Nyingchi is found directly in zhou; 林芝 finds the same list item through 林芝地区 (a sub-word) and
    // through the glossary; a passage with the Chinese itself ranks first.
    const hits = (await search('林芝', { limit: 5 })).hits;
    expect(hits[0]?.docId).toBe('zhou-partner-assistance-overview');
    expect(hits[0]?.matches.some((m) => m.via === undefined)).toBe(true);
  });
});

describe('answers above headings', () => {
  it('对口支援: the first results are passages that discuss it, not bare headings', async () => {
    const hits = (await search('对口支援', { limit: 20 })).hits;
    // Before the kind priors the first 19 results were headings such as 二、中国特色对口支援的理论内涵.
    expect(hits[0]?.kind).toBe('paragraph');
    expect(hits.filter((h) => h.kind === 'heading' || h.kind === 'title')).toEqual([]);
    expect(hits.slice(0, 10).every((h) => ['paragraph', 'list-item', 'table', 'footnote'].includes(h.kind))).toBe(true);
  });

  it('习近平: the paragraphs on what he did rank above the footnotes that only cite his speeches', async () => {
    const hits = (await search('习近平', { limit: 50 })).hits;
    const textOf = (h: (typeof hits)[number]): string => engine.requireDocument(h.docId).text.slice(h.start, h.end);
    const discusses = hits.findIndex((h) => textOf(h).includes('习近平总书记亲自主持召开7次中央扶贫工作座谈会'));
    const cites = hits.findIndex((h) => textOf(h).startsWith('⑧习近平:《在全国脱贫攻坚总结表彰大会上的讲话》'));
    expect(discusses).toBeGreaterThanOrEqual(0);
    expect(cites).toBeGreaterThan(discusses);
    // Before, five citation footnotes of this shape were the first five results.
    expect(hits.slice(0, 5).filter((h) => h.kind === 'footnote' && citesOnly(h))).toEqual([]);
  });

  it('汶川地震: the paragraph on the post-earthquake support ranks above the short footnotes that list it among examples', async () => {
    const hits = (await search('汶川地震', { limit: 20 })).hits;
    const paragraph = hits.findIndex((h) => h.text.startsWith('新时期的对口支援还逐步应用于国家重大工程建设和应急救灾'));
    const footnotes = hits.flatMap((h, i) => (h.kind === 'footnote' && /^[⑨⑩]/.test(h.text) ? [i] : []));
    // Before footnotes weighed less than paragraphs, both footnotes ranked first.
    expect(footnotes).toHaveLength(2);
    expect(paragraph).toBe(0);
    expect(Math.min(...footnotes)).toBeGreaterThan(paragraph);
  });

  it.each([
    ['counterpart support', 'Coordinated regional development is inextricably'],
    ['对口支援', '摘要:对口支援是中国特色国家治理的重要方式和机制'],
    ['partner assistance', 'This paper concentrates on'],
  ])('%s: the abstract of a paper on it is among the first three results', async (q, start) => {
    // Before summaries weighed more, these abstracts ranked 8th, 20th and 12th.
    const hits = (await search(q, { limit: 3 })).hits;
    expect(hits.some((h) => h.text.startsWith(start))).toBe(true);
  });

  it('a heading still ranks above a paragraph that only mentions the term in passing', async () => {
    // kind:heading finds the headings, and they are in the results, just not first.
    const all = (await search('对口支援', { limit: 200, match: 'strict' })).hits;
    const firstHeading = all.findIndex((h) => h.kind === 'heading');
    expect(firstHeading).toBeGreaterThan(10);
    expect(firstHeading).toBeLessThan(all.length - 1);
  });

  it('reference entries and keyword lines come after the paragraphs that discuss the term', async () => {
    const hits = (await search('counterpart support', { limit: 200 })).hits;
    const lastDiscussion = hits.findLastIndex((h) => h.kind === 'paragraph' && (h.text.match(/counterpart support/gi)?.length ?? 0) >= 3);
    const firstReference = hits.findIndex((h) => h.kind === 'reference' || h.kind === 'front-matter');
    expect(lastDiscussion).toBeGreaterThanOrEqual(0);
    expect(firstReference).toBeGreaterThan(lastDiscussion);
  });
});

describe('isSummary', () => {
  const passage = (over: Partial<Passage>): Passage => ({
    id: 1,
    docId: 'd',
    ordinal: 2,
    kind: 'paragraph',
    lang: 'en',
    section: null,
    pieces: [],
    start: 0,
    end: 1,
    ...over,
  });
  it.each([
    ['a paragraph under ABSTRACT', { section: 'ABSTRACT' }, 'coordin', true],
    ['a paragraph under "Abstract:"', { section: 'Abstract:' }, 'thi', true],
    ['a bullet under Executive Summary', { section: 'Executive Summary', kind: 'list-item' as const }, 'the', true],
    ['a paragraph opening with 摘要 before any heading', {}, '摘要', true],
    ['a paragraph opening with "Abstract." before any heading', {}, 'abstract', true],
    ['the heading itself', { section: 'ABSTRACT', kind: 'heading' as const }, 'abstract', false],
    ['a paragraph under Introduction', { section: '1. Introduction' }, 'abstract', false],
    ['a section named Abstraction', { section: 'Abstraction in policy' }, 'the', false],
    ['a paragraph deep in the paper opening with 摘要', { ordinal: 40 }, '摘要', false],
  ])('%s', (_name, over, first, want) => {
    expect(isSummary(passage(over), () => first)).toBe(want);
  });
});
