/**
 * The PostgreSQL index against the embedded engine on the five papers: the
 * ranking golden set's queries, and the query language's operators and
 * filters, return the same passages (as sets, over every page), the same
 * totals and modes, and the same order, scores and match offsets on the page.
 */
import { loadLibrary } from '../src/library/library.js';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgSearchBackend, PG_INDEX_FORMAT, lexeme } from '../src/backends/postgres/search.js';
import { passageTsvector, positionsCountTerms } from '../src/backends/postgres/tsvector.js';
import { Engine } from '../src/backends/embedded/engine.js';
import { MAX_LIMIT, type SearchOptions, type SearchResult } from '../src/backends/search-contract.js';
import { prepareDocument } from '../src/pipeline/prepare.js';
import { EmbeddedSearchBackend } from '../src/backends/embedded/search.js';
import { analyze, biwords } from '../src/pipeline/analyze.js';
import { loadGlossary } from '../src/pipeline/glossary.js';

import { parseQuery } from '../src/pipeline/query.js';
import { type TestDatabase, createTestDatabase, testDatabaseUrl, testPool } from './helpers/postgres.js';

const server = testDatabaseUrl();

/** The queries of tests/ranking.test.ts's golden set, with the options they use. */
const GOLDEN: [string, SearchOptions][] = [
  ['"key node"', {}],
  ['path dependence', {}],
  ['对口支援 脱贫攻坚', {}],
  ['village-resident cadres', {}],
  ['林芝', {}],
  ['对口支援', {}],
  ['对口支援', { match: 'strict' }],
  ['counterpart support', {}],
  ['习近平', {}],
  ['汶川地震', {}],
];
/** The rest of the query language: OR, exclusion, phrases, filters, no expansion, a question, nothing found. */
const MORE: [string, SearchOptions][] = [
  ['援藏 OR 援疆', {}],
  ['对口支援 -援疆', {}],
  ['counterpart support -Tibet', {}],
  ['“对口 支援”', {}],
  ['lang:en counterpart', {}],
  ['lang:zh 对口支援', {}],
  ['doc:wang-counterpart-support-policy "path dependence"', {}],
  ['kind:heading 对口支援', {}],
  ['kind:reference counterpart', {}],
  ['kind:heading', {}],
  ['林芝', { expand: false }],
  ['how are village cadres selected and evaluated', {}],
  ['对口支援', { lang: 'en' }],
  ['zzzqqq-nothing', {}],
  ['1979', {}],
  ['duikou zhiyuan', {}],
  ['duikouzhiyuan -yuanjiang', {}],
  ['linzhi', {}],
];

describe('the golden set compared here', () => {
  it('holds every query tests/ranking.test.ts ranks, so a new golden query is compared on both backends too', () => {
    const ranking = readFileSync(fileURLToPath(new URL('./ranking.test.ts', import.meta.url)), 'utf8');
    const queried = [...ranking.matchAll(/(?:expectTop|top|search)\('([^']+)'/g)].map((m) => m[1]!);
    expect(queried.length).toBeGreaterThan(5);
    const compared = new Set(GOLDEN.map(([q]) => q));
    expect([...new Set(queried)].filter((q) => !compared.has(q))).toEqual([]);
  });
});

describe('the tsvector of a passage', () => {
  it('holds duikou’s terms with 1-based positions, quotes them, and hashes terms PostgreSQL cannot hold', () => {
    const toks = [
      { term: "o'neil", position: 0 },
      { term: 'a\\b', position: 1 },
      { term: "o'neil", position: 2 },
      { term: '对口支援', position: 3 },
      { term: '对口', position: 3 },
    ].map((t) => ({ ...t, start: 0, end: 1, script: 'latin' }) as never);
    expect(passageTsvector(toks)).toBe(`'o''neil':1,3 'a\\\\b':2 '对口支援':4 '对口':4`);
    const long = 'x'.repeat(3000);
    expect(lexeme(long)).toMatch(/^#[0-9a-f]{64}$/);
    expect(lexeme('对口支援')).toBe('对口支援');
  });

  it('holds each biword with one position per occurrence, so its frequency is counted as the embedded index counts it', () => {
    const text = '对口支援政策推动对口支援。Counterpart support: counterpart support 𠀀 works, 对口支援!';
    const toks = analyze(text, 'index');
    const expected = new Map<string, number>();
    for (const t of [...toks.map((x) => x.term), ...biwords(toks)]) expected.set(t, (expected.get(t) ?? 0) + 1);
    expect([...expected.keys()].filter((t) => t.includes('|') || t.includes('~')).length).toBeGreaterThan(3);
    expect(positionsCountTerms(toks)).toBe(true);
    // Biwords in a tsvector of their own: a single term's list reads the terms' tsvector only.
    expect(passageTsvector(toks)).not.toMatch(/[|~]/);
    const stored = new Map<string, number>();
    for (const m of `${passageTsvector(toks)} ${passageTsvector(toks, [], true)}`.matchAll(/'((?:[^']|'')*)'(?::([\d,]+))?/g)) {
      stored.set(m[1]!.replace(/''/g, "'"), m[2] ? m[2].split(',').length : 0);
    }
    expect(stored).toEqual(expected);
  });

  it('says when its positions count each term’s occurrences, and when a passage must be analysed again for them', () => {
    const at = (term: string, position: number) => ({ term, position, start: 0, end: 1, script: 'latin' }) as never;
    expect(positionsCountTerms([at('a', 0), at('b', 1), at('a', 2)])).toBe(true);
    // One term twice at one position: the tsvector keeps the position once.
    expect(positionsCountTerms([at('a', 0), at('a', 0)])).toBe(false);
    // 256 occurrences, or a position PostgreSQL cannot hold.
    expect(positionsCountTerms(Array.from({ length: 256 }, (_, i) => at('a', i)))).toBe(false);
    expect(positionsCountTerms(Array.from({ length: 255 }, (_, i) => at('a', i)))).toBe(true);
    expect(positionsCountTerms([at('a', 16_382)])).toBe(false);
  });
});

describe.skipIf(!server)('the PostgreSQL index on the five papers', () => {
  let dir: string;
  let tdb: TestDatabase;
  let pool: pg.Pool;
  let engine: Engine;
  let backend: PgSearchBackend;
  /** Another instance on the same database, opened before the papers were indexed. */
  let other: PgSearchBackend;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'duikou-pgsearch-'));
    cpSync(fileURLToPath(new URL('../corpus', import.meta.url)), dir, { recursive: true });
    tdb = await createTestDatabase(server as string);
    pool = testPool(tdb.url, 8);
    const glossary = loadGlossary(dir);
    engine = new Engine(glossary);
    backend = await PgSearchBackend.open(pool, glossary);
    expect(backend.needsReindex).toBe(false);
    other = await PgSearchBackend.open(pool, glossary);
    for (const doc of (await loadLibrary(dir)).documents) {
      const prep = prepareDocument(doc);
      engine.addPrepared(prep);
      await backend.indexDocument(prep);
    }
  });
  afterAll(async () => {
    await pool?.end();
    await tdb?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every hit over every page, as "docId@start". */
  async function allHits(run: (o: SearchOptions) => SearchResult | Promise<SearchResult>, opts: SearchOptions): Promise<string[]> {
    const out: string[] = [];
    for (let offset = 0; ; offset += MAX_LIMIT) {
      const r = await run({ ...opts, limit: MAX_LIMIT, offset });
      out.push(...r.hits.map((h) => `${h.docId}@${h.start}`));
      if (r.hits.length < MAX_LIMIT) return out;
    }
  }

  /** The corpus size kept in `search_totals`, beside a count of the stored rows: they must agree after every write. */
  async function totals(): Promise<{ kept: [number, number]; counted: [number, number] }> {
    const k = (await pool.query<{ n: string; w: string }>('SELECT passages::text AS n, words::text AS w FROM search_totals')).rows[0]!;
    const c = (
      await pool.query<{ n: string; w: string }>('SELECT count(*)::text AS n, coalesce(sum(words), 0)::text AS w FROM search_passages')
    ).rows[0]!;
    return { kept: [Number(k.n), Number(k.w)], counted: [Number(c.n), Number(c.w)] };
  }

  it('indexes every passage with a GIN index on its terms', async () => {
    const n = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM search_passages')).rows[0]?.n;
    expect(n).toBe(engine.index.size);
    const t = await totals();
    expect(t.kept).toEqual(t.counted);
    expect(t.kept[0]).toBe(engine.index.size);
    expect(n).toBeGreaterThan(400);
    // A table this small may be scanned; with scans off the planner must be able to use the GIN index.
    const c = await pool.connect();
    try {
      await c.query('SET enable_seqscan = off');
      const plan = (await c.query(`EXPLAIN SELECT id FROM search_passages WHERE tsv @@ '对口支援'::tsquery`)).rows
        .map((r: Record<string, string>) => r['QUERY PLAN'])
        .join('\n');
      expect(plan).toContain('search_passages_tsv');
    } finally {
      c.release();
    }
  });

  it.each([...GOLDEN, ...MORE])('%s %o: the same passages, totals and mode as the embedded engine', async (q, opts) => {
    const mine = await backend.search(q, parseQuery(q), { ...opts, limit: 20 });
    const theirs = engine.search(q, { ...opts, limit: 20 });
    expect(mine.total).toBe(theirs.total);
    expect(mine.strictTotal).toBe(theirs.strictTotal);
    expect(mine.mode).toBe(theirs.mode);
    expect(mine.perDocument).toEqual(theirs.perDocument);
    const a = await allHits((o) => backend.search(q, parseQuery(q), o), opts);
    const b = await allHits((o) => engine.search(q, o), opts);
    expect(new Set(a)).toEqual(new Set(b));
    expect(a).toHaveLength(theirs.total);
    // The same order, scores and match offsets on the page.
    expect(mine.hits.map((h) => [h.docId, h.start, h.score, h.matches])).toEqual(
      theirs.hits.map((h) => [h.docId, h.start, h.score, h.matches]),
    );
  });

  it('reads pinyin as the terms of papers another instance indexed once told of them (as a NOTIFY tells the lab server)', async () => {
    const q = 'duikouzhiyuan';
    const theirs = engine.search(q, { limit: 20 });
    expect(theirs.total).toBeGreaterThan(0);
    // Opened on an empty index: it knows no Chinese terms yet, and reads the letters as letters.
    expect((await other.search(q, parseQuery(q), { limit: 20 })).total).toBe(0);
    await other.learnTerms(engine.documents().map((d) => d.id));
    const mine = await other.search(q, parseQuery(q), { limit: 20 });
    expect(mine.total).toBe(theirs.total);
    expect(mine.hits.map((h) => [h.docId, h.start, h.score, h.matches])).toEqual(
      theirs.hits.map((h) => [h.docId, h.start, h.score, h.matches]),
    );
    // An instance opened now finds them in the stored index at once.
    const fresh = await PgSearchBackend.open(pool, loadGlossary(dir));
    expect((await fresh.search(q, parseQuery(q), { limit: 20 })).total).toBe(theirs.total);
  });

  it('answers from papers whose texts do not fit the text cache: those fetched for a query are used, not read back from the cache', async () => {
    // A cache smaller than any paper keeps none of them: every text this query needs comes from its own fetch.
    const tiny = await PgSearchBackend.open(pool, loadGlossary(dir), { textCacheChars: 8 });
    const papers = new Set<string>();
    for (const q of ['对口支援', 'counterpart support']) {
      const mine = await tiny.search(q, parseQuery(q), { limit: 20 });
      const theirs = engine.search(q, { limit: 20 });
      for (const h of mine.hits) papers.add(h.docId);
      expect(mine.hits.map((h) => [h.docId, h.start, h.score, h.matches])).toEqual(
        theirs.hits.map((h) => [h.docId, h.start, h.score, h.matches]),
      );
    }
    expect(papers.size).toBeGreaterThan(1);
  });

  it('groups by paper like the embedded engine', async () => {
    const mine = await backend.search('对口支援', parseQuery('对口支援'), { group: 'paper', limit: 3 });
    const theirs = engine.search('对口支援', { group: 'paper', limit: 3 });
    expect(mine.groups?.map((g) => [g.docId, g.total, g.more, g.hits.map((h) => h.start)])).toEqual(
      theirs.groups?.map((g) => [g.docId, g.total, g.more, g.hits.map((h) => h.start)]),
    );
  });

  it('lists the near matches of a short result as the embedded engine does', async () => {
    for (const q of ['新冠疫情', '汶川地震', 'emotional governance']) {
      const mine = await backend.search(q, parseQuery(q), { limit: 50 });
      const theirs = engine.search(q, { limit: 50 });
      expect(theirs.near?.length ?? 0).toBeGreaterThan(0);
      expect(mine.near?.map((h) => [h.docId, h.start, h.text, h.score, h.matches])).toEqual(
        theirs.near?.map((h) => [h.docId, h.start, h.text, h.score, h.matches]),
      );
    }
  });

  it('counts terms in the whole corpus as the embedded index does, even where a passage outgrows a tsvector’s position lists', async () => {
    const base = (await loadLibrary(dir)).documents[0]!;
    // 300 of one word (more than the 256 positions a lexeme keeps), and words past position 16383 (where positions stop).
    const text = `${'support '.repeat(300)}\n\n${Array.from({ length: 17_000 }, (_, i) => (i % 2 ? 'pairing' : 'cadre')).join(' ')} xinjiang xinjiang xinjiang`;
    const long = { ...base, id: 'long-paper', title: 'A long paper', text, hash: createHash('sha256').update(text).digest('hex') };
    const prep = prepareDocument(long);
    engine.addPrepared(prep);
    await backend.indexDocument(prep);
    try {
      const sample = [
        ...new Set(engine.documents().flatMap((d) => d.passages.slice(0, 40).flatMap((p) => engine.tokens(p.id).map((t) => t.term)))),
      ];
      const terms = [...sample, 'support', 'pairing', 'cadr', 'cadre', 'xinjiang', '对口支援', 'zzzqqq', 'a|b'];
      const mine = await backend.corpusCounts(terms);
      const theirs = await new EmbeddedSearchBackend(engine).corpusCounts(terms);
      expect(mine.tokens).toBe(theirs.tokens);
      expect(Object.fromEntries(mine.frequencies)).toEqual(Object.fromEntries(theirs.frequencies));
      expect(theirs.frequencies.get('xinjiang')).toBeGreaterThanOrEqual(3);
      expect(theirs.frequencies.get('support')).toBeGreaterThanOrEqual(300);
      // Ranking reads the same frequencies, from the positions or (past their limits) from the passage itself.
      // A phrase past position 16383 (its positions folded into one) is still found: `<->` cannot see it there.
      const phrases = ['doc:long-paper "xinjiang xinjiang"', '"support support" -pairing', '"xinjiang xinjiang"'];
      for (const q of ['doc:long-paper support', 'doc:long-paper xinjiang', 'doc:long-paper cadre', ...phrases]) {
        const a = await backend.search(q, parseQuery(q), { limit: 5, match: 'strict' });
        const b = engine.search(q, { limit: 5, match: 'strict' });
        if (phrases.includes(q)) expect(b.total).toBeGreaterThan(0);
        expect(a.total).toBe(b.total);
        expect(a.hits.map((h) => [h.docId, h.start, h.score])).toEqual(b.hits.map((h) => [h.docId, h.start, h.score]));
      }
    } finally {
      engine.removeDocument(long.id);
      await backend.removeDocument(long.id);
    }
  });

  it('removes a document, refuses an unknown doc:, and re-indexes from scratch when the format changes', async () => {
    const id = 'zhou-partner-assistance-overview';
    // Indexing a paper again replaces its passages in the kept corpus size, never adds them twice.
    const before = await totals();
    await backend.indexDocument(prepareDocument((await loadLibrary(dir)).documents.find((d) => d.id === id)!));
    expect(await totals()).toEqual(before);
    // Other instances hear that the document went.
    // Another instance has 林芝's hits from before (kept between its queries): it must see the removal too.
    const earlier = await other.search('林芝', parseQuery('林芝'), {});
    expect(earlier.perDocument[id]).toBeGreaterThan(0);
    const listener = await pool.connect();
    const heard: string[] = [];
    listener.on('notification', (m) => heard.push(m.payload ?? ''));
    await listener.query('LISTEN duikou_changes');
    await backend.removeDocument(id);
    await expect.poll(() => heard, { timeout: 1000, interval: 10 }).toEqual([JSON.stringify({ what: 'documents', docId: id })]);
    await listener.query('UNLISTEN duikou_changes');
    listener.release();
    engine.removeDocument(id);
    const after = await totals();
    expect(after.kept).toEqual(after.counted);
    expect(after.kept[0]).toBe(engine.index.size);
    expect(after.kept[0]).toBeLessThan(before.kept[0]);
    const mine = await backend.search('林芝', parseQuery('林芝'), {});
    expect(mine.total).toBe(engine.search('林芝').total);
    expect(mine.perDocument[id]).toBeUndefined();
    const theirs = await other.search('林芝', parseQuery('林芝'), {});
    expect(theirs.total).toBe(mine.total);
    expect(theirs.perDocument[id]).toBeUndefined();
    await expect(backend.search(`doc:${id} x`, parseQuery(`doc:${id} x`), {})).rejects.toMatchObject({
      code: 'unknown_document',
      status: 404,
    });

    await pool.query(`UPDATE search_meta SET value = 'an older analyzer' WHERE key = 'format'`);
    const again = await PgSearchBackend.open(pool, loadGlossary(dir));
    expect(again.needsReindex).toBe(true);
    expect((await pool.query('SELECT count(*)::int AS n FROM search_passages')).rows[0]).toEqual({ n: 0 });
    expect((await pool.query(`SELECT value FROM search_meta WHERE key = 'format'`)).rows[0]).toEqual({ value: PG_INDEX_FORMAT });
    expect((await PgSearchBackend.open(pool, loadGlossary(dir))).needsReindex).toBe(false);
  });
});
