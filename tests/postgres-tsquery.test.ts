/**
 * The lab server's search, whose strict candidates come from the whole query
 * as one tsquery, against the embedded engine on random queries built from
 * the five papers' own words: Chinese runs, English words, phrases, OR,
 * exclusions and filters. The same passages (as sets), totals, modes, and
 * the same first twenty hits in the same order with the same scores — so
 * the tsquery never loses a passage and BM25 reads the same corpus-wide
 * document frequencies.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgSearchBackend } from '../src/backends/postgres/search.js';
import { loadLibrary } from '../src/library/library.js';
import { planStrict } from '../src/backends/postgres/tsquery.js';
import { Engine } from '../src/backends/embedded/engine.js';
import { MAX_LIMIT, type SearchOptions, type SearchResult } from '../src/backends/search-contract.js';
import { prepareDocument } from '../src/pipeline/prepare.js';
import { loadGlossary } from '../src/pipeline/glossary.js';
import { normalizeText } from '../src/pipeline/normalize.js';
import { parseQuery } from '../src/pipeline/query.js';
import { type TestDatabase, createTestDatabase, testDatabaseUrl, testPool } from './helpers/postgres.js';

const server = testDatabaseUrl();

/** Above this many hits only the totals and the first page are compared (each page runs the query again). */
const SET_COMPARE_MAX = 1000;

describe.skipIf(!server)('the lab server’s tsquery search against the embedded engine', () => {
  let dir: string;
  let tdb: TestDatabase;
  let pool: pg.Pool;
  let engine: Engine;
  let backend: PgSearchBackend;
  let glossary: ReturnType<typeof loadGlossary>;
  const english: string[] = [];
  const chinese: string[] = [];
  const phrases: string[] = [];
  const docIds: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'duikou-pgtsquery-'));
    cpSync(fileURLToPath(new URL('../corpus', import.meta.url)), dir, { recursive: true });
    tdb = await createTestDatabase(server as string);
    pool = testPool(tdb.url, 8);
    glossary = loadGlossary(dir);
    engine = new Engine(glossary);
    backend = await PgSearchBackend.open(pool, glossary);
    for (const doc of (await loadLibrary(dir)).documents) {
      const prep = prepareDocument(doc);
      engine.addPrepared(prep);
      await backend.indexDocument(prep);
      docIds.push(doc.id);
      // Words as the papers write them, every 7th passage: English words and pairs, Chinese runs of 2 to 4 characters.
      for (const { passage: p } of prep.passages.filter((_, i) => i % 7 === 0)) {
        const text = doc.text.slice(p.start, p.end);
        const words = text.match(/[A-Za-z][A-Za-z'-]{2,}/g) ?? [];
        english.push(...words.slice(0, 4));
        if (words.length > 1) phrases.push(`${words[0]} ${words[1]}`);
        for (const run of (text.match(/\p{Script=Han}{2,}/gu) ?? []).slice(0, 3)) {
          const cs = Array.from(run);
          const from = cs.length > 4 ? cs.length >> 1 : 0;
          chinese.push(cs.slice(from, from + 2 + (cs.length % 3)).join(''));
        }
      }
    }
    expect(english.length).toBeGreaterThan(50);
    expect(chinese.length).toBeGreaterThan(50);
  });
  afterAll(async () => {
    await pool?.end();
    await tdb?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Every hit over every page, as "docId@start". */
  async function allHits(run: (o: SearchOptions) => SearchResult | Promise<SearchResult>, opts: SearchOptions): Promise<Set<string>> {
    const out = new Set<string>();
    for (let offset = 0; ; offset += MAX_LIMIT) {
      const r = await run({ ...opts, limit: MAX_LIMIT, offset });
      for (const h of r.hits) out.add(`${h.docId}@${h.start}`);
      if (r.hits.length < MAX_LIMIT) return out;
    }
  }

  it('returns the same passages, totals and first twenty hits as the embedded engine on random queries', async () => {
    const word = fc.oneof(
      fc.constantFrom(...english),
      fc.constantFrom(...chinese),
      fc.constantFrom(...phrases).map((p) => `"${p}"`),
      // A Chinese run typed as two words in quotes, and one of a single character.
      fc.constantFrom(...chinese).map((r) => `“${Array.from(r).slice(0, 2).join(' ')}”`),
      fc.constantFrom(...chinese).map((r) => Array.from(r)[0]!),
      // Glossary terms, so that expansion (and multi-word entries typed as words) is exercised.
      fc.constantFrom(...glossary.entries.flatMap((e) => [e.zh, e.en])),
    );
    const clause = fc.oneof({ weight: 3, arbitrary: word }, { weight: 1, arbitrary: fc.tuple(word, word).map(([a, b]) => `${a} OR ${b}`) });
    const filter = fc.constantFrom(
      '',
      '',
      '',
      'lang:zh',
      'lang:en',
      'kind:paragraph',
      'kind:heading kind:footnote',
      ...docIds.map((d) => `doc:${d}`),
    );
    const query = fc.record({
      clauses: fc.array(clause, { minLength: 1, maxLength: 3 }),
      exclude: fc.option(word, { nil: undefined }),
      filter,
      expand: fc.boolean(),
      match: fc.constantFrom<'auto' | 'strict'>('auto', 'strict'),
    });
    let planned = 0;
    await fc.assert(
      fc.asyncProperty(query, async ({ clauses, exclude, filter, expand, match }) => {
        const q = [...clauses, ...(exclude ? [`-${exclude}`] : []), filter].filter(Boolean).join(' ');
        const opts: SearchOptions = { expand, match };
        const before = backend.queryPaths.tsquery;
        const mine = await backend.search(q, parseQuery(q), { ...opts, limit: 20 });
        const onTsquery = backend.queryPaths.tsquery === before + 1;
        const theirs = engine.search(q, { ...opts, limit: 20 });
        const ctx = `${q} ${JSON.stringify(opts)}`;
        expect(mine.total, ctx).toBe(theirs.total);
        expect(mine.strictTotal, ctx).toBe(theirs.strictTotal);
        expect(mine.mode, ctx).toBe(theirs.mode);
        expect(mine.perDocument, ctx).toEqual(theirs.perDocument);
        expect(
          mine.hits.map((h) => [h.docId, h.start, h.score]),
          ctx,
        ).toEqual(theirs.hits.map((h) => [h.docId, h.start, h.score]));
        if (theirs.total <= SET_COMPARE_MAX) {
          const a = await allHits((o) => backend.search(q, parseQuery(q), o), opts);
          expect(a, ctx).toEqual(await allHits((o) => engine.search(q, o), opts));
        }
        // A strict query with words to look for runs on its tsquery's candidates.
        const plan = planStrict(
          parseQuery(q),
          (t) => glossary.translationsOf(normalizeText(t)).map((x) => ({ text: x.term, via: x.term })),
          opts,
        );
        if (match === 'strict' && plan !== null) {
          expect(onTsquery, ctx).toBe(true);
          planned++;
        }
      }),
      { numRuns: 200, seed: 18 },
    );
    expect(planned).toBeGreaterThan(20);
  }, 600_000);
});
