/**
 * Search behaviour on the sample papers and small made-up ones, on the
 * backend under test (run on both: see both-backends.ts): the embedded
 * engine, or the same papers indexed in PostgreSQL. Texts and offsets are
 * read from the engine the papers were loaded into; passage ids are each
 * backend's own, so hits are matched to passages by place.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserInputError } from '../src/core/errors.js';
import type { LoadedDocument } from '../src/core/types.js';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import { Engine } from '../src/backends/embedded/engine.js';
import type { SearchOptions, SearchResult } from '../src/backends/search-contract.js';
import { analyze } from '../src/pipeline/analyze.js';
import { type Glossary, createGlossary, emptyGlossary, loadGlossary } from '../src/pipeline/glossary.js';
import { parseQuery } from '../src/pipeline/query.js';
import { rank } from '../src/pipeline/rank.js';
import { TEST_BACKEND, type TestSearch, searchOnTestBackend } from './helpers/backends.js';
import { SAMPLE } from './helpers/sample.js';
import { paper } from './helpers/paper.js';

const CORPUS = SAMPLE;
let engine: Engine;
let backend: TestSearch;

beforeAll(async () => {
  engine = await openCorpus(CORPUS);
  backend = await searchOnTestBackend(engine, loadGlossary(CORPUS));
});
afterAll(async () => backend?.close());

/** Search the sample papers on the backend under test. */
const search = (q: string, opts: SearchOptions = {}): Promise<SearchResult> => backend.search(q, opts);

/** Search a few made-up papers on the backend under test. */
async function searchIn(docs: LoadedDocument[], q: string, opts: SearchOptions = {}, glossary: Glossary = emptyGlossary()) {
  const e = new Engine(glossary);
  for (const d of docs) e.addDocument(d);
  const b = await searchOnTestBackend(e, glossary);
  try {
    return { r: await b.search(q, opts), e };
  } finally {
    await b.close();
  }
}

/** The analysed terms of a stretch of a document. */
const termsOf = (s: string) => new Set(analyze(s, 'index').map((t) => t.term));

/** Every hit of a search, all pages. */
const all = (q: string, opts: SearchOptions = {}): Promise<SearchResult> => search(q, { limit: 200, ...opts });

const doc = (id: string, text: string): LoadedDocument => paper(id, text, 'zh');

describe('matches are exact document offsets', () => {
  it.each([
    '对口支援',
    '"key node"',
    'key node',
    '對口支援',
    'ＷＥＮＣＨＵＡＮ',
    '1979',
    '援藏 OR 援疆',
    '"path dependence"',
    '林芝',
    'Nyingchi',
  ])('every match of %s lies in its hit and its surface form is what matched', async (q) => {
    const r = await all(q);
    expect(r.total).toBeGreaterThan(0);
    const queryTerms = termsOf(q.replace(/"|OR/g, ' '));
    for (const h of r.hits) {
      const text = engine.requireDocument(h.docId).text;
      expect(h.text).toBe(text.slice(h.start, h.end));
      expect(h.matches.length).toBeGreaterThan(0);
      for (const m of h.matches) {
        expect(m.start).toBeGreaterThanOrEqual(h.start);
        expect(m.end).toBeLessThanOrEqual(h.end);
        const surface = text.slice(m.start, m.end);
        const found = termsOf(surface);
        const wanted = m.via ? termsOf(m.via) : queryTerms;
        // The marked characters analyse to the query's own terms (or the glossary term's).
        expect(
          [...found].some((t) => wanted.has(t)),
          `${JSON.stringify(surface)} for ${q}`,
        ).toBe(true);
      }
    }
  });
});

describe('query operators', () => {
  it('ANDs terms: 对口支援 西藏 hits contain both', async () => {
    // Strict matching; with fewer than 10 such passages the default adds the closest ones after them.
    const r = await all('对口支援 西藏', { expand: false, match: 'strict' });
    expect(r.total).toBeGreaterThan(0);
    expect(r.mode).toBe('strict');
    const auto = await all('对口支援 西藏', { expand: false });
    expect(auto.strictTotal).toBe(r.total);
    expect(new Set(auto.hits.slice(0, r.total).map((h) => h.passageId))).toEqual(new Set(r.hits.map((h) => h.passageId)));
    for (const h of r.hits) {
      expect(h.text).toContain('对口支援');
      expect(h.text).toContain('西藏');
    }
  });

  it('a quoted phrase needs adjacent words: "key node" finds "Key Nodes", not key … node apart', async () => {
    const r = await all('"key node"');
    const surfaces = r.hits.flatMap((h) => h.matches.map((m) => engine.requireDocument(h.docId).text.slice(m.start, m.end)));
    expect(surfaces).toContain('Key Nodes');
    for (const s of surfaces) expect(s.toLowerCase()).toMatch(/^key\W+nodes?$/);
  });

  it('a Chinese run is a contiguous phrase: 对口支援 never matches 对口 and 支援 apart', async () => {
    const { r, e } = await searchIn(
      [doc('apart', '他们对口的支援工作。\n\n对口，支援。'), doc('together', '对口支援是一种机制。')],
      '对口支援',
    );
    expect(r.hits.map((h) => h.docId)).toEqual(['together']);
    const t = e.requireDocument('together').text;
    expect(r.hits[0]!.matches).toEqual([{ start: t.indexOf('对口支援'), end: t.indexOf('对口支援') + 4 }]);
  });

  it('OR: 援藏 OR 援疆 hits contain one of them', async () => {
    const r = await all('援藏 OR 援疆', { expand: false });
    expect(r.total).toBeGreaterThan(1);
    // A Chinese run is found wherever it stands (援藏 inside 对口援藏 too).
    for (const h of r.hits) expect(h.text.includes('援藏') || h.text.includes('援疆')).toBe(true);
  });

  it('-term excludes: counterpart support -Tibet', async () => {
    const without = await all('counterpart support -Tibet', { expand: false });
    const withT = await all('counterpart support', { expand: false });
    expect(without.total).toBeGreaterThan(0);
    expect(without.total).toBeLessThan(withT.total);
    for (const h of without.hits) expect(termsOf(h.text).has('tibet')).toBe(false);
  });

  it('lang: and doc: filter', async () => {
    const zh = await all('lang:zh 对口支援');
    expect(zh.total).toBeGreaterThan(0);
    expect(zh.hits.every((h) => h.lang === 'zh')).toBe(true);
    const one = await all('doc:wang-counterpart-support-policy "path dependence"');
    expect(one.total).toBeGreaterThan(0);
    expect(one.hits.every((h) => h.docId === 'wang-counterpart-support-policy')).toBe(true);
    await expect(search('doc:no-such-paper 对口支援')).rejects.toThrow(UserInputError);
  });

  it('normalises before matching: traditional, full-width and case', async () => {
    const ids = async (q: string) => (await all(q)).hits.map((h) => h.passageId);
    expect(await ids('對口支援')).toEqual(await ids('对口支援'));
    expect(await ids('ＷＥＮＣＨＵＡＮ')).toEqual(await ids('wenchuan'));
    expect((await all('Wenchuan')).total).toBeGreaterThan(0);
  });

  it('numbers and years are terms', async () => {
    for (const year of ['1979', '2008']) {
      const r = await all(year);
      expect(r.total).toBeGreaterThan(0);
      for (const h of r.hits) expect(h.matches.some((m) => h.text.includes(year) && m.end - m.start === 4)).toBe(true);
    }
  });

  it('a hyphenated compound is found by its parts and by the whole, with or without the hyphen', async () => {
    const docs = [
      { ...doc('hyphen', 'Villages are self-governing units.'), lang: 'en' as const },
      { ...doc('space', 'Villages are self governing units.'), lang: 'en' as const },
      { ...doc('joined', 'Villages are selfgoverning units.'), lang: 'en' as const },
    ];
    const e = new Engine();
    for (const d of docs) e.addDocument(d);
    const b = await searchOnTestBackend(e, emptyGlossary());
    const ids = async (q: string) => (await b.search(q, { limit: 10 })).hits.map((h) => h.docId).sort();
    expect(await ids('self-governing')).toEqual(['hyphen', 'joined', 'space']);
    expect(await ids('selfgoverning')).toEqual(['hyphen', 'joined']);
    expect(await ids('"self governing"')).toEqual(['hyphen', 'space']);
    expect(await ids('self governing')).toEqual(['hyphen', 'space']);
    expect(await ids('governing')).toEqual(['hyphen', 'space']);
    // The mark covers the compound as written.
    const h = (await b.search('selfgoverning')).hits.find((x) => x.docId === 'hyphen')!;
    await b.close();
    const text = e.requireDocument('hyphen').text;
    expect(h.matches.map((m) => text.slice(m.start, m.end))).toEqual(['self-governing']);
  });

  it('Chinese inside an English paper is searchable: 林芝地区 in zhou', async () => {
    const r = await all('林芝地区', { expand: false });
    expect(r.hits.map((h) => h.docId)).toContain('zhou-partner-assistance-overview');
  });
});

describe('queries typed in pinyin', () => {
  /** Each hit as its place in its paper (passage ids are each backend's own). */
  const places = (r: SearchResult) => new Set(r.hits.map((h) => `${h.docId}@${h.start}`));

  it.each(['duikou zhiyuan', 'duikouzhiyuan', "Dui'kou zhi-yuan"])(
    '%s finds the passages 对口支援 finds, with the characters matched',
    async (q) => {
      const chars = await all('对口支援', { expand: false, match: 'strict' });
      const typed = await all(q, { expand: false, match: 'strict' });
      expect(chars.total).toBeGreaterThan(0);
      expect(typed.total).toBe(chars.total);
      expect(places(typed)).toEqual(places(chars));
      for (const h of typed.hits) {
        const text = engine.requireDocument(h.docId).text;
        expect(h.matches.map((m) => text.slice(m.start, m.end))).toContain('对口支援');
      }
    },
  );

  it('reads pinyin only as terms the papers hold, and leaves English words as typed', async () => {
    // 支援 alone, and no reading for letters no term sounds like.
    expect(places(await all('zhiyuan', { expand: false, match: 'strict' }))).toEqual(
      places(await all('支援', { expand: false, match: 'strict' })),
    );
    expect((await all('zzzqqq', { expand: false })).total).toBe(0);
    const english = await all('support', { expand: false, match: 'strict' });
    expect(english.total).toBeGreaterThan(0);
    for (const h of english.hits) expect(h.text.toLowerCase()).toContain('support');
  });
});

describe('cross-lingual expansion', () => {
  it('对口支援 also finds English passages on counterpart support, saying through which term', async () => {
    const r = await all('对口支援');
    const english = r.hits.filter((h) => h.lang === 'en');
    expect(english.length).toBeGreaterThan(0);
    const vias = new Set(english.flatMap((h) => h.matches.map((m) => m.via)));
    expect(vias.has('counterpart support')).toBe(true);
  });

  it('expand=0 turns it off', async () => {
    const on = await all('对口支援');
    const off = await all('对口支援', { expand: false });
    expect(off.total).toBeLessThan(on.total);
    expect(off.hits.every((h) => h.matches.every((m) => m.via === undefined))).toBe(true);
  });

  // The English papers render these terms in their own words; the shipped glossary carries those renderings.
  it.each([
    ['援藏', 'zheng-wu-task-oriented-network', 'history of assistance toward Tibet province'],
    ['援藏', 'zhou-partner-assistance-overview', 'five rounds of PAPs to assist Tibet'],
    ['對口援疆', 'zheng-wu-task-oriented-network', 'partner assistances toward Xinjiang province'],
    ['输血', 'wang-counterpart-support-policy', 'change from "blood'],
    ['东北', 'wang-counterpart-support-policy', 'old industrial bases in the Northeast'],
  ])('%s reaches the English rendering in %s ("%s")', async (q, docId, quote) => {
    const d = engine.requireDocument(docId);
    const r = await all(q, { docs: [docId] });
    const hit = r.hits.find((h) => d.text.slice(h.start, h.end).replace(/\s+/g, ' ').includes(quote));
    expect(hit, `${q} → ${quote}`).toBeDefined();
    expect(hit!.matches.some((m) => m.via !== undefined)).toBe(true);
  });

  it('English finds Chinese: Wenchuan earthquake → 汶川地震', async () => {
    const glossary = createGlossary([{ zh: '汶川地震', en: 'Wenchuan earthquake', source: 'curated' }]);
    const { r } = await searchIn([doc('zh', '汶川地震后的对口支援。')], '"Wenchuan earthquake"', {}, glossary);
    expect(r.hits[0]?.matches[0]?.via).toBe('汶川地震');
  });
});

describe('phrases through the biword index', () => {
  it('every pair of adjacent words in a paper, typed as a phrase, finds its passage', async () => {
    // Every 7th adjacent pair of the English and the Chinese paper, typed the way a reader would copy it.
    for (const docId of ['wang-counterpart-support-policy', 'wang-duikou-zhiyuan-mechanism']) {
      const d = engine.requireDocument(docId);
      let checked = 0;
      for (const p of d.passages.filter((x) => x.kind === 'paragraph').slice(0, 12)) {
        const toks = analyze(d.text.slice(p.pieces[0]!.start, p.pieces[0]!.end), 'query');
        for (let i = 0; i + 1 < toks.length; i += 7) {
          const a = toks[i]!;
          const b = toks[i + 1]!;
          const piece = d.text.slice(p.pieces[0]!.start, p.pieces[0]!.end);
          const typed = piece.slice(a.start, b.end);
          if (/["“”「」]/.test(typed) || typed.includes('\n')) continue;
          const r = await search(`"${typed}"`, { limit: 200, expand: false, docs: [docId] });
          expect(
            r.hits.some((h) => h.start === p.start),
            `"${typed}" in ${docId}`,
          ).toBe(true);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(30);
    }
  });
});

describe('page breaks', () => {
  it('a phrase across a page break is found: "counterpart support has played"', async () => {
    const r = await all('"counterpart support has played"', { expand: false });
    // The hit is the paragraph that runs over the page break ("…characteristics, counterpart" | "support has played…").
    const h = r.hits.find((x) => x.text.includes('characteristics, counterpart\n'))!;
    expect(h).toBeDefined();
    expect(h.docId).toBe('wang-counterpart-support-policy');
    // The mark is split around what the page break put between the halves.
    const text = engine.requireDocument(h.docId).text;
    expect(h.matches.map((m) => text.slice(m.start, m.end)).join(' ')).toMatch(/^counterpart\s+support has played$/);
  });
});

describe('bad input never breaks search', () => {
  it.each([
    ['unbalanced quotes', '"key node'],
    ['only operators', 'OR - -'],
    ['control characters', 'key\u0000\u0007node'],
    ['a lone surrogate', 'key \ud800 node'],
    ['emoji', '😀 对口支援'],
  ])('%s gives results or a UserInputError', async (_n, q) => {
    try {
      await search(q);
    } catch (err) {
      expect(err).toBeInstanceOf(UserInputError);
    }
  });

  it('3,000 characters is a clear UserInputError', async () => {
    await expect(search('对'.repeat(3000))).rejects.toThrow(UserInputError);
  });

  it('any string gives results or a UserInputError (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 80 }),
          fc.string({
            unit: fc.constantFrom('"', '-', 'OR', ' ', '对口', '支援', 'key', 'lang:', 'doc:', '𠀀', '😀', '\ud800'),
            maxLength: 30,
          }),
        ),
        async (q) => {
          try {
            const r = await search(q, { limit: 5 });
            for (const h of r.hits) for (const m of h.matches) expect(m.start >= h.start && m.end <= h.end).toBe(true);
          } catch (err) {
            if (!(err instanceof UserInputError)) throw err;
          }
        },
      ),
      // Each query is a few round trips to PostgreSQL there.
      { numRuns: TEST_BACKEND === 'postgres' ? 100 : 300 },
    );
  });
});

describe('best match: a passage under a heading that names the whole query', () => {
  // The section's first two paragraphs discuss path dependence without naming it; the third names "path" only.
  const text = [
    '# Institutions over time',
    '## Path Dependence',
    'Early choices constrain later ones through coordination effects.',
    'The learning effect makes agencies repeat what worked before.',
    'A path once taken is hard to leave.',
    '## Other Matters',
    'Path dependence is named here in full.',
    'Dependence on transfers grew over the decade.',
    'A path through the hills.',
  ].join('\n\n');
  const papers = [paper('inst', text, 'en')];
  const starts = (r: SearchResult) => r.hits.map((h) => h.text.split(' ').slice(0, 2).join(' '));

  it('ranks the section after the passages holding the whole query, before those holding part of it', async () => {
    const { r } = await searchIn(papers, 'path dependence', { limit: 20 });
    expect(r.mode).toBe('best');
    // Both words stand in the heading and in one paragraph of their own.
    expect(r.strictTotal).toBe(2);
    const got = starts(r);
    // 1–2. The passages holding both words in their own text (the paragraph above the heading: kind prior).
    expect(got.slice(0, 2)).toEqual(['Path dependence', 'Path Dependence']);
    // 3–5. The section's passages, in document order, scoring the heading's share of the query (both
    //      words: 2) and nothing for weight; "A path once taken" holds one word itself, which scores less.
    expect(got.slice(2, 5)).toEqual(['Early choices', 'The learning', 'A path']);
    expect(r.hits.slice(2, 5).map((h) => h.score)).toEqual([2, 2, 2]);
    // 6–7. Passages holding one word, outside the section.
    expect(new Set(got.slice(5))).toEqual(new Set(['Dependence on', 'A path']));
    // Counted: the two passages only their section makes hits are in the total.
    expect(r.total).toBe(7);
    // Nothing of the query stands in them, so nothing is marked.
    expect(r.hits[2]!.matches).toEqual([]);
  });

  it("gives the full ranking's page at every size (the top-k path merges the section into its first k)", async () => {
    const e = new Engine();
    e.addDocument(papers[0]!);
    // Every hit scored and sorted, as the lab server ranks.
    const full = rank(parseQuery('path dependence'), e).hits.map((h) => [h.passage.start, h.score]);
    expect(full).toHaveLength(7);
    for (let limit = 1; limit <= 7; limit++) {
      for (const offset of [0, 1, 3]) {
        const { r } = await searchIn(papers, 'path dependence', { limit, offset });
        const page = r.hits.map((h) => [h.start, h.score]);
        expect(page, `limit ${limit} offset ${offset}`).toEqual(
          full.slice(offset, offset + limit).map(([at, sc]) => [at, Math.round(sc! * 1000) / 1000]),
        );
        expect(r.total).toBe(full.length);
      }
    }
  });

  it('keeps quotes, exclusions and filters: the section adds nothing they rule out', async () => {
    // Quoted, the phrase must stand in every hit.
    const quoted = (await searchIn(papers, '"path dependence"', { limit: 20 })).r;
    expect(starts(quoted).sort()).toEqual(['Path Dependence', 'Path dependence']);
    // An excluded word still excludes a section's passage.
    const excluded = starts((await searchIn(papers, 'path dependence -coordination', { limit: 20 })).r);
    expect(excluded).not.toContain('Early choices');
    expect(excluded).toContain('The learning');
    // The heading must pass the filters too: with kind:paragraph it is no hit, and gives nothing.
    const paragraphs = starts((await searchIn(papers, 'path dependence kind:paragraph', { limit: 20 })).r);
    expect(paragraphs).not.toContain('Early choices');
  });

  it('needs the heading to name the whole query, and stays out of strict matching', async () => {
    // The heading holds "path" but not "hills".
    const partial = (await searchIn(papers, 'path hills', { limit: 20 })).r;
    expect(partial.mode).toBe('best');
    expect(starts(partial)).not.toContain('Early choices');
    // Strictly, every hit holds every word in its own text.
    const strict = (await searchIn(papers, 'path dependence', { limit: 20, match: 'strict' })).r;
    expect(starts(strict).sort()).toEqual(['Path Dependence', 'Path dependence']);
  });
});

describe('long queries on a backend that has answered nothing yet', () => {
  it('a 40-word phrase, a phrase with words left out and a long Chinese passage answer as the embedded engine does', async () => {
    const fresh = await searchOnTestBackend(engine, loadGlossary(CORPUS));
    try {
      const words = (lang: 'en' | 'zh') =>
        engine
          .documents()
          .filter((d) => d.lang === lang)
          .flatMap((d) => d.passages.filter((p) => p.kind === 'paragraph').map((p) => d.text.slice(p.start, p.end)));
      const en = words('en').find((t) => t.split(/\s+/).length > 60)!;
      const phrase = en.split(/\s+/).slice(0, 40);
      const zh = words('zh').find((t) => t.length > 300)!;
      const queries = [
        `"${phrase.join(' ')}"`,
        // Every fourth word left out: a phrase no passage holds.
        `"${phrase.filter((_, i) => i % 4 !== 3).join(' ')}"`,
        zh.slice(0, 300),
        `"${zh.slice(0, 120)}"`,
      ];
      for (const q of queries) {
        expect(q.length).toBeLessThan(1000);
        const want = engine.search(q, { limit: 20 });
        const got = await fresh.search(q, { limit: 20 });
        const at = (r: SearchResult) => r.hits.map((h) => `${h.docId}@${h.start}-${h.end}`);
        expect(got.total, q).toBe(want.total);
        expect(at(got), q).toEqual(at(want));
      }
    } finally {
      await fresh.close();
    }
  }, 120_000);
});
