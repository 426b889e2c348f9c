/**
 * Shared by the import tests: search a loaded document on the backend under
 * test (see helpers/backends.ts) and return the surface text of every match,
 * taken from the document's canonical text by the match's offsets. On
 * PostgreSQL the document is indexed as a lab server's indexer indexes a paper
 * from its corpus folder, into one database per test file, and searched there.
 */
import pg from 'pg';
import { afterAll } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { prepareDocument } from '../src/pipeline/prepare.js';
import { PgSearchBackend } from '../src/backends/postgres/search.js';
import type { LoadedDocument } from '../src/core/types.js';
import { emptyGlossary } from '../src/pipeline/glossary.js';
import { parseQuery } from '../src/pipeline/query.js';
import { TEST_BACKEND } from './helpers/backends.js';
import { type TestDatabase, createTestDatabase, testPool } from './helpers/postgres.js';

let lab: Promise<{ tdb: TestDatabase; pool: pg.Pool; search: PgSearchBackend }> | null = null;
let serial = 0;

afterAll(async () => {
  if (!lab) return;
  const { tdb, pool } = await lab;
  await pool.end();
  await tdb.drop();
});

/** The file's PostgreSQL index, made on first use. */
function labIndex(): Promise<{ tdb: TestDatabase; pool: pg.Pool; search: PgSearchBackend }> {
  lab ??= (async () => {
    const url = process.env.DUIKOU_TEST_DATABASE_URL;
    if (!url) throw new Error('DUIKOU_TEST_BACKEND=postgres needs DUIKOU_TEST_DATABASE_URL (see scripts/pg-test-server.sh)');
    const tdb = await createTestDatabase(url);
    const pool = testPool(tdb.url, 2);
    return { tdb, pool, search: await PgSearchBackend.open(pool, emptyGlossary()) };
  })();
  return lab;
}

/** The canonical text under each match of `query` in `doc`. */
export async function matchedText(doc: LoadedDocument, query: string): Promise<string[]> {
  const out: string[] = [];
  if (TEST_BACKEND === 'postgres') {
    const { search } = await labIndex();
    // A fresh id for each call: the same file is loaded again by several tests.
    const id = `${doc.id}-${++serial}`;
    await search.indexDocument(prepareDocument({ ...doc, id }));
    try {
      const r = await search.search(query, parseQuery(query), { limit: 200, docs: [id] });
      for (const hit of r.hits) for (const m of hit.matches) out.push(doc.text.slice(m.start, m.end));
    } finally {
      await search.removeDocument(id);
    }
    return out;
  }
  const engine = new Engine();
  engine.addDocument(doc);
  for (const hit of engine.search(query, { limit: 200 }).hits) {
    for (const m of hit.matches) out.push(doc.text.slice(m.start, m.end));
  }
  return out;
}
