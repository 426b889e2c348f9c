/**
 * The annotation backend a parameterised test file runs on. vitest.config.ts
 * runs the files of `BOTH_BACKENDS` (both-backends.ts) twice: as they are (embedded
 * SQLite), and with `DUIKOU_TEST_BACKEND=postgres`, where the same tests
 * talk to an app whose annotations live in a fresh PostgreSQL database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedAnnotationBackend } from '../../src/backends/embedded/annotations.js';
import { PgAnnotationStore } from '../../src/backends/postgres/annotations.js';
import { embeddedAccounts } from '../../src/backends/embedded/accounts.js';
import { PgAccountStore, PgRoundStore } from '../../src/backends/postgres/accounts.js';
import type { AccountBackend, AnnotationBackend, RoundBackend } from '../../src/backends/types.js';
import { PgSearchBackend } from '../../src/backends/postgres/search.js';
import { Engine } from '../../src/backends/embedded/engine.js';
import type { SearchOptions, SearchResult } from '../../src/backends/search-contract.js';
import { prepareDocument } from '../../src/pipeline/prepare.js';
import { parseQuery } from '../../src/pipeline/query.js';
import type { Glossary } from '../../src/pipeline/glossary.js';
import { AnnotationStore } from '../../src/store/annotations.js';
import { openDatabase } from '../../src/store/db.js';
import { createTestDatabase, testPool } from './postgres.js';
import { type TestDeps, type TestServer, startServer } from './server.js';

/** Which backend this run of the file uses. */
export const TEST_BACKEND: 'embedded' | 'postgres' = process.env.DUIKOU_TEST_BACKEND === 'postgres' ? 'postgres' : 'embedded';

/** A library on the backend under test, with what tests check beneath the API. */
export interface TestLibrary {
  backend: AnnotationBackend;
  /** Accounts and coding rounds in the same database (what the app serves). */
  accounts: { users: AccountBackend; rounds: RoundBackend };
  /** The SQLite store, in the embedded run (the app then serves accounts as it does in use). */
  store?: AnnotationStore;
  /** Run one SQL statement valid in both SQLite and PostgreSQL (for rows an older duikou wrote). */
  exec(sql: string): Promise<void>;
  /** The rows of one query valid in both SQLite and PostgreSQL. */
  query<T>(sql: string): Promise<T[]>;
  /** Rows in a table. */
  count(table: 'annotations' | 'tags' | 'annotation_tags' | 'documents'): Promise<number>;
  /** `DUIKOU_DATA` for the CLI in embedded mode; extra settings (`DUIKOU_DATABASE_URL`) for PostgreSQL. */
  cliEnv: Record<string, string>;
  close(): Promise<void>;
}

/** Open an empty library on the backend under test. */
export async function openTestLibrary(): Promise<TestLibrary> {
  const dir = mkdtempSync(join(tmpdir(), 'duikou-lib-'));
  if (TEST_BACKEND === 'postgres') {
    const url = process.env.DUIKOU_TEST_DATABASE_URL;
    if (!url) throw new Error('DUIKOU_TEST_BACKEND=postgres needs DUIKOU_TEST_DATABASE_URL (see scripts/pg-test-server.sh)');
    const tdb = await createTestDatabase(url);
    const store = await PgAnnotationStore.open({ url: tdb.url, poolSize: 4 });
    return {
      backend: store,
      accounts: { users: new PgAccountStore(store.pool), rounds: new PgRoundStore(store.pool) },
      query: async <T>(sql: string) => (await store.pool.query(sql)).rows as T[],
      exec: async (sql) => void (await store.pool.query(sql)),
      count: async (t) => (await store.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`)).rows[0]!.n,
      cliEnv: { DUIKOU_DATA: join(dir, 'data'), DUIKOU_DATABASE_URL: tdb.url },
      close: async () => {
        await store.close();
        await tdb.drop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const store = new AnnotationStore(openDatabase(join(dir, 'data', 'duikou.db')));
  return {
    backend: new EmbeddedAnnotationBackend(store),
    store,
    accounts: embeddedAccounts(store.db),
    query: async <T>(sql: string) => store.db.prepare(sql).all() as T[],
    exec: async (sql) => void store.db.prepare(sql).run(),
    count: async (t) => (store.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n,
    cliEnv: { DUIKOU_DATA: join(dir, 'data') },
    close: async () => {
      store.db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The app over `engine` with its annotations, accounts and rounds in a fresh
 * library on the backend under test; `extra` deps (such as `access`) as given.
 */
export async function startServerOnTestBackend(
  engine: Engine,
  extra: Partial<TestDeps> = {},
): Promise<TestServer & { library: TestLibrary }> {
  const library = await openTestLibrary();
  const server = await startServer(
    library.store
      ? { ...extra, engine, store: library.store }
      : { ...extra, engine, annotations: library.backend, accounts: library.accounts },
  );
  return {
    ...server,
    library,
    close: async () => {
      await server.close();
      await library.close();
    },
  };
}

/**
 * The app searching `engine`'s papers on the backend under test: the engine
 * itself (embedded), or a PostgreSQL index of the same papers, served as a
 * lab-server instance serves it (the papers kept for lookups, searches in the
 * database). Passage ids are the backend's own.
 */
export async function startSearchServerOnTestBackend(engine: Engine, glossary: Glossary): Promise<TestServer> {
  if (TEST_BACKEND !== 'postgres') return startServer({ engine });
  const url = process.env.DUIKOU_TEST_DATABASE_URL;
  if (!url) throw new Error('DUIKOU_TEST_BACKEND=postgres needs DUIKOU_TEST_DATABASE_URL (see scripts/pg-test-server.sh)');
  const tdb = await createTestDatabase(url);
  const { search, shown, close } = await pgIndexOf(tdb.url, engine, glossary);
  const server = await startServer({ engine: shown, search });
  return {
    ...server,
    close: async () => {
      await server.close();
      await close();
      await tdb.drop();
    },
  };
}

/**
 * As {@link startSearchServerOnTestBackend}, with the annotations in a fresh
 * library on the same backend: the whole app as an embedded instance or a
 * lab-server instance serves it.
 */
export async function startAppOnTestBackend(engine: Engine, glossary: Glossary): Promise<TestServer & { library: TestLibrary }> {
  const library = await openTestLibrary();
  if (TEST_BACKEND !== 'postgres') {
    const server = await startServer({ engine, ...(library.store ? { store: library.store } : { annotations: library.backend }) });
    return {
      ...server,
      library,
      close: async () => {
        await server.close();
        await library.close();
      },
    };
  }
  const { search, shown, close } = await pgIndexOf(library.cliEnv.DUIKOU_DATABASE_URL!, engine, glossary);
  const server = await startServer({ engine: shown, search, annotations: library.backend });
  return {
    ...server,
    library,
    close: async () => {
      await server.close();
      await close();
      await library.close();
    },
  };
}

/** `engine`'s papers indexed in the PostgreSQL database at `dbUrl`, and an engine showing them as a lab instance does. */
async function pgIndexOf(dbUrl: string, engine: Engine, glossary: Glossary) {
  const pool = testPool(dbUrl, 4);
  const search = await PgSearchBackend.open(pool, glossary);
  for (const d of engine.documents()) {
    const { passages: _passages, ...loaded } = d;
    await search.indexDocument(prepareDocument(loaded));
  }
  const shown = new Engine(glossary);
  for (const d of await search.loadDocuments()) shown.showDocument(d);
  return { search, shown, close: () => pool.end() };
}

/** Searching a set of papers on the backend under test, as the search tests call it. */
export interface TestSearch {
  /** Search with the query language (parsed here, as the HTTP layer does). */
  search(q: string, opts?: SearchOptions): Promise<SearchResult>;
  close(): Promise<void>;
}

/**
 * `engine`'s papers searched on the backend under test: the engine itself
 * (embedded), or a PostgreSQL index of the same papers in a fresh database.
 * Passage ids are the backend's own; offsets and texts are the same.
 */
export async function searchOnTestBackend(engine: Engine, glossary: Glossary): Promise<TestSearch> {
  if (TEST_BACKEND !== 'postgres') {
    return { search: async (q, opts) => engine.search(q, opts), close: async () => undefined };
  }
  const url = process.env.DUIKOU_TEST_DATABASE_URL;
  if (!url) throw new Error('DUIKOU_TEST_BACKEND=postgres needs DUIKOU_TEST_DATABASE_URL (see scripts/pg-test-server.sh)');
  const tdb = await createTestDatabase(url);
  const { search, close } = await pgIndexOf(tdb.url, engine, glossary);
  return {
    search: async (q, opts) => search.search(q, parseQuery(q), opts),
    close: async () => {
      await close();
      await tdb.drop();
    },
  };
}
