/**
 * One app instance of a lab server (`DUIKOU_DATABASE_URL` set): the
 * annotations and the search index live in PostgreSQL, shared by every
 * instance pointing at the database.
 *
 * Each instance keeps the papers it serves (metadata, text, passages with
 * their stored ids) for its pages, refreshed when another instance announces
 * a change (LISTEN/NOTIFY); the search index stays in the database. Exactly
 * one instance — whichever holds the indexer advisory lock — watches the
 * corpus folder, indexes it as the embedded mode does (its own `index.db`
 * cache in the data folder), publishes what changed to PostgreSQL and
 * re-anchors the annotations. When it dies another instance takes the role.
 */
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import type pg from 'pg';
import { PgAccountStore, PgRoundStore } from './accounts.js';
import { PgAnnotationStore } from './annotations.js';
import type { PgOptions } from './db.js';
import { type IndexerLease, watchForIndexerRole } from './indexer-lock.js';
import { PgSearchBackend } from './search.js';
import type { CorpusDocument } from '../../core/types.js';
import { Engine } from '../embedded/engine.js';
import { prepareInWorkers } from '../../workers/prepare.js';
import { type Library, loadLibraryGlossary } from '../../library/library.js';
import { openIndexDatabase } from '../embedded/index-db.js';
import { type Glossary, emptyGlossary } from '../../pipeline/glossary.js';
import { CorpusSync, type CorpusWatcher, type IndexStatus } from '../../library/watch.js';

/** What a lab-server instance serves, and how to stop it. */
export interface LabServer {
  /** The papers this instance shows (not indexed here: searches go to {@link search}). */
  engine: Engine;
  search: PgSearchBackend;
  annotations: PgAnnotationStore;
  /** Researcher accounts, sessions and coding rounds, read from the database at each request (so every instance agrees at once). */
  accounts: { users: PgAccountStore; rounds: PgRoundStore };
  /** Indexing state: the indexer's while this instance is the indexer, idle otherwise. */
  status: IndexStatus;
  /** Whether this instance holds the indexer role now. */
  isIndexer(): boolean;
  /** Stop indexing and listening, release the role and the pool. */
  close(): Promise<void>;
}

/** How to open an instance. */
export interface LabServerOptions {
  pg: PgOptions;
  library: Library;
  /** Where the indexer keeps its `index.db` cache of the corpus folder. */
  dataDir: string;
  log?: (line: string) => void;
  /** How often a serving instance tries for the indexer role, in ms. */
  indexerPollMs?: number;
}

/** A document's metadata as stored beside its passages (everything but text and passages), in JSON form. */
function storedForm(d: CorpusDocument): Record<string, unknown> {
  const { text: _text, passages: _passages, ...rest } = d;
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}

/**
 * Connect, migrate, load the papers and start trying for the indexer role.
 * @throws Error when the database cannot be reached or its schema is newer than this code
 */
export async function openLabServer(opts: LabServerOptions): Promise<LabServer> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const annotations = await PgAnnotationStore.open(opts.pg);
  const pool: pg.Pool = annotations.pool;
  let glossary: Glossary;
  try {
    glossary = loadLibraryGlossary(opts.library);
  } catch (err) {
    log(`duikou: the glossary could not be read (${(err as Error).message}); searching without cross-lingual expansion`);
    glossary = emptyGlossary();
  }
  let search: PgSearchBackend;
  try {
    search = await PgSearchBackend.open(pool, glossary);
  } catch (err) {
    await annotations.close();
    throw err;
  }
  if (search.needsReindex) log('duikou: the search index was made by another version of duikou; the indexing instance rebuilds it');
  const engine = new Engine(glossary);
  for (const d of await search.loadDocuments()) engine.showDocument(d);

  // Other instances' changes: reload the papers they announce (in order, one at a time).
  let refreshing: Promise<unknown> = Promise.resolve();
  const refresh = (ids: string[] | null) => {
    refreshing = refreshing
      .then(async () => {
        const docs = await search.loadDocuments(ids ?? undefined);
        const found = new Set(docs.map((d) => d.id));
        for (const d of docs) engine.showDocument(d);
        for (const id of ids ?? engine.documents().map((d) => d.id)) if (!found.has(id)) engine.removeDocument(id);
        // Their Chinese terms, for queries typed in pinyin (this instance did not index them).
        await search.learnTerms(ids);
      })
      .catch((err: Error) => log(`duikou: could not reload papers from the database (${err.message})`));
  };
  const stopListening = await annotations.listen(
    (notice) => {
      if (notice.what === 'documents') refresh(notice.docId === undefined ? null : [notice.docId]);
    },
    // Back after the database was away: what changed meanwhile was not announced.
    () => refresh(null),
  );

  // The indexer role: this instance's corpus sync, published to PostgreSQL after every run.
  const idle: IndexStatus = { indexing: false, progress: null, last: null, problems: [] };
  let sync: CorpusSync | null = null;
  let watcher: CorpusWatcher | null = null;
  let lease: IndexerLease | null = null;
  let publishing: Promise<unknown> = Promise.resolve();
  let closed = false;

  /** Make PostgreSQL hold what the local index holds, then bring the annotations in line (as `syncAnnotations`). */
  const publish = async (local: Engine) => {
    const stored = await search.storedMetadata();
    if (local.documents().length === 0 && stored.size > 0) {
      // A corpus folder not mounted here, or emptied by mistake, must not wipe the lab's index and orphan its annotations.
      log(`duikou: the corpus folder holds no papers; keeping the ${stored.size} papers in the lab server's index`);
      return 0;
    }
    const changed: CorpusDocument[] = [];
    for (const d of local.documents()) {
      const was = stored.get(d.id);
      if (was === undefined || !isDeepStrictEqual(was, storedForm(d))) changed.push(d);
    }
    // Segmenting and analysing in a worker thread, as the embedded sync does, so this instance keeps answering.
    // (Each paper's tsvector is still made on this thread, in indexDocument.)
    const loaded = changed.map(({ passages: _passages, ...doc }) => doc);
    if (loaded.length > 0) for await (const prep of prepareInWorkers(loaded, { threads: 1 })) await search.indexDocument(prep);
    for (const id of stored.keys()) if (!local.document(id)) await search.removeDocument(id);
    for (const d of changed) await annotations.reanchorDocument(d.id, d.text, d.hash);
    for (const known of await annotations.knownDocuments()) {
      if (!local.document(known.id) && known.removedAt === null) await annotations.orphanDocument(known.id);
    }
    return changed.length;
  };
  const publishAfter = (local: Engine) => {
    publishing = publishing
      .then(() => publish(local))
      .then((n) => {
        if (n > 0) log(`duikou: published ${n} papers to the lab server's index`);
      })
      .catch((err: Error) => log(`duikou: publishing the index to PostgreSQL failed (${err.message}); retrying at the next change`));
    return publishing;
  };

  const becomeIndexer = (l: IndexerLease) => {
    if (closed) {
      void l.release();
      return;
    }
    lease = l;
    log('duikou: this instance indexes the corpus folder for the lab server');
    const local = new Engine(glossary);
    const s = new CorpusSync(local, openIndexDatabase(join(opts.dataDir, 'index.db')), opts.library, undefined, undefined, log);
    sync = s;
    watcher = s.watch(() => void publishAfter(local));
    // Only a sync that ran publishes: a failed one (folder missing, disk full) leaves the shared index as it is.
    void s.request().then((stats) => (stats ? publishAfter(local) : undefined));
    void l.lost.then(async () => {
      if (closed) return;
      log('duikou: lost the indexer role (the database connection dropped); serving only, and trying for the role again');
      await stopIndexing();
      stopRole = watchForIndexerRole(pool, becomeIndexer, opts.indexerPollMs);
    });
  };
  const stopIndexing = async () => {
    const w = watcher;
    const s = sync;
    watcher = null;
    sync = null;
    lease = null;
    await w?.close();
    await publishing.catch(() => undefined);
    s?.indexDb.close();
  };
  let stopRole = watchForIndexerRole(pool, becomeIndexer, opts.indexerPollMs);

  // The app reads the status at each request: the indexer's, or idle.
  const status: IndexStatus = {
    get indexing() {
      return sync?.status.indexing ?? idle.indexing;
    },
    get progress() {
      return sync?.status.progress ?? idle.progress;
    },
    get last() {
      return sync?.status.last ?? idle.last;
    },
    get problems() {
      return sync?.status.problems ?? idle.problems;
    },
  } as IndexStatus;

  return {
    engine,
    search,
    annotations,
    accounts: { users: new PgAccountStore(pool), rounds: new PgRoundStore(pool) },
    status,
    isIndexer: () => lease !== null,
    close: async () => {
      closed = true;
      await stopRole();
      await stopIndexing();
      await refreshing;
      await stopListening().catch(() => undefined);
      await annotations.close();
    },
  };
}
