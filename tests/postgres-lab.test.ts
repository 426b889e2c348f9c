/**
 * The indexing instance of a lab server never wipes the shared index: one
 * whose corpus folder is missing or empty (not mounted on its machine,
 * emptied by mistake) keeps the papers other instances indexed, and their
 * annotations anchored.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgSearchBackend } from '../src/backends/postgres/search.js';
import { prepareDocument } from '../src/pipeline/prepare.js';
import { type LabServer, openLabServer } from '../src/backends/postgres/lab-server.js';
import { emptyGlossary } from '../src/pipeline/glossary.js';
import { parseQuery } from '../src/pipeline/query.js';
import { asLibrary } from '../src/library/library.js';
import { type TestDatabase, createTestDatabase, testDatabaseUrl, testPool } from './helpers/postgres.js';
import { paper } from './helpers/paper.js';

const pgServer = testDatabaseUrl();

describe.skipIf(!pgServer)('the lab server’s indexer', () => {
  let tdb: TestDatabase;
  let root: string;
  const open = (corpus: string, data: string): Promise<LabServer> =>
    openLabServer({
      pg: { url: tdb.url, poolSize: 3 },
      library: asLibrary(corpus),
      dataDir: join(root, data),
      log: () => undefined,
      indexerPollMs: 100,
    });

  beforeAll(async () => {
    tdb = await createTestDatabase(pgServer as string);
    root = mkdtempSync(join(tmpdir(), 'duikou-pglab-'));
    cpSync(fileURLToPath(new URL('../corpus', import.meta.url)), join(root, 'corpus'), { recursive: true });
    mkdirSync(join(root, 'empty'));
  });
  afterAll(async () => {
    await tdb?.drop();
    rmSync(root, { recursive: true, force: true });
  });

  it('keeps the shared papers and annotations when its corpus folder is missing or empty', async () => {
    const first = await open(join(root, 'corpus'), 'data-1');
    await expect.poll(() => first.engine.documents().length, { timeout: 60_000, interval: 100 }).toBe(5);
    const doc = first.engine.documents().find((d) => d.text.includes('对口支援'))!;
    const start = doc.text.indexOf('对口支援');
    const a = await first.annotations.create({ docId: doc.id, start, end: start + 4, exact: '对口支援', tags: ['kept'] }, doc);
    expect(first.isIndexer()).toBe(true);
    await first.close();

    for (const corpus of [join(root, 'not-mounted'), join(root, 'empty')]) {
      const next = await open(corpus, `data-${corpus.endsWith('empty') ? 'e' : 'm'}`);
      try {
        await expect.poll(() => next.isIndexer(), { timeout: 10_000, interval: 50 }).toBe(true);
        // Give its sync time to run and (wrongly) publish an empty corpus.
        await expect.poll(() => next.status.last !== null || next.status.problems.length > 0, { timeout: 30_000, interval: 50 }).toBe(true);
        await new Promise((r) => setTimeout(r, 500));
        expect((await next.search.storedMetadata()).size, corpus).toBe(5);
        expect(next.engine.documents()).toHaveLength(5);
        expect((await next.annotations.get(a.id))?.status).toBe('anchored');
      } finally {
        await next.close();
      }
    }
  }, 120_000);
});

describe.skipIf(!pgServer)('the PostgreSQL search between changes', () => {
  it('answers from a paper’s new text once it is re-indexed, not from the text it kept', async () => {
    const tdb = await createTestDatabase(pgServer as string);
    const pool = testPool(tdb.url, 2);
    try {
      const search = await PgSearchBackend.open(pool, emptyGlossary());
      const paperOf = (text: string) => paper('p', text, 'zh', { hash: text, title: 'P' });
      const find = async (q: string) => (await search.search(q, parseQuery(q), {})).hits;
      await search.indexDocument(prepareDocument(paperOf('第一段讲对口支援。\n\n第二段讲别的事情。')));
      expect((await find('对口支援')).map((h) => h.text)).toEqual(['第一段讲对口支援。']);
      // The same paper with 𝌆 and a new paragraph before: every offset moves.
      const text = '𝌆 新加的一段。\n\n第一段讲对口支援。\n\n第二段讲别的事情。';
      await search.indexDocument(prepareDocument(paperOf(text)));
      const hits = await find('对口支援');
      expect(hits.map((h) => h.text)).toEqual(['第一段讲对口支援。']);
      expect(hits[0]!.start).toBe(text.indexOf('第一段'));
      expect(text.slice(hits[0]!.matches[0]!.start, hits[0]!.matches[0]!.end)).toBe('对口支援');
    } finally {
      await pool.end();
      await tdb.drop();
    }
  });
});

describe.skipIf(!pgServer)('queries typed in pinyin on a lab server instance', () => {
  it('reads them as the terms of a paper another instance indexed after it started', async () => {
    const tdb = await createTestDatabase(pgServer as string);
    const root = mkdtempSync(join(tmpdir(), 'duikou-pglab-'));
    mkdirSync(join(root, 'empty'));
    const pool = testPool(tdb.url, 2);
    const lab = await openLabServer({
      pg: { url: tdb.url, poolSize: 3 },
      library: asLibrary(join(root, 'empty')),
      dataDir: join(root, 'data'),
      log: () => undefined,
      indexerPollMs: 100,
    });
    try {
      const text = '援藏干部谈对口支援。\n\n别的事情。';
      const q = 'duikou zhiyuan';
      const find = async () => (await lab.search.search(q, parseQuery(q), {})).hits.map((h) => h.text);
      expect(await find()).toEqual([]);
      // Another instance indexes the paper; this one hears of it (NOTIFY) and learns its terms.
      const elsewhere = await PgSearchBackend.open(pool, emptyGlossary());
      await elsewhere.indexDocument(prepareDocument(paper('p', text, 'zh', { title: 'P' })));
      await expect.poll(find, { timeout: 5000, interval: 50 }).toEqual(['援藏干部谈对口支援。']);
    } finally {
      await lab.close();
      await pool.end();
      await tdb.drop();
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});
