/**
 * The persisted index: papers' canonical texts, passages and analysed terms
 * kept in `DUIKOU_DATA/index.db`, so a restart on an unchanged corpus reads
 * and segments nothing, and a change re-indexes only the papers whose content
 * changed (by SHA-256 of the canonical text).
 *
 * This database is derived data: it carries a format version (with a hash of
 * the domain dictionary, which changes what the analyzer produces) and is
 * rebuilt from the corpus whenever that does not match. Annotations live in
 * their own database and are never touched here.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as DB } from 'better-sqlite3';
import type { DocumentMeta, Lang, LoadedDocument, PassageKind, Span } from '../../core/types.js';
import { containedImporter } from '../../workers/contained.js';
import { UserInputError } from '../../core/errors.js';
import { Engine } from './engine.js';
import { type PreparedDocument } from '../../pipeline/prepare.js';
import { USER_DICT_PATH, preloadJieba } from '../../pipeline/analyze.js';
import { type Library, asLibrary, listPapers, loadLibraryGlossary, readLibraryOverrides } from '../../library/library.js';
import { INDEX_FORMAT_VERSION } from '../../pipeline/index.js';
import { detectMetadata } from '../../pipeline/load.js';
import { removeStaleUploads } from '../../library/uploads.js';
import { METADATA_FILE, type MetadataOverrides, checkMetadataOverrides, noOverrides, overrideFor } from '../../pipeline/metadata-file.js';
import { estimateRemaining } from '../../library/progress.js';
import { STATE_SCHEMA } from './state-format.js';
import { readState } from './state-read.js';
import { dropLeftoverFiles, writeStateGradually } from './state-store.js';
import { holdText, textsOf } from './texts.js';
import { startWorker, workerScript } from '../../workers/prepare.js';
import { DataFileError, describeStorageFailure, storageFailure } from '../../store/db.js';

/** Progress of a sync, for the console and the page. */
export interface SyncProgress {
  /** Files looked at so far, of `total`. */
  done: number;
  total: number;
  /** Bytes of files read and indexed so far, of `totalBytes` (those needing it). */
  bytes: number;
  totalBytes: number;
  /** File being worked on. */
  file: string;
  /** Estimated milliseconds left, once there is enough to estimate from. */
  etaMs: number | null;
}

/** What a sync did. */
export interface SyncStats {
  files: number;
  /** Papers taken from the persisted index without reading their text again. */
  reused: number;
  /** Papers read, segmented and analysed. */
  indexed: number;
  removed: number;
  /** Whether the engine was read back from the persisted state (nothing added passage by passage). */
  restored: boolean;
  /** Files that could not be read, with the reason. */
  errors: { file: string; message: string }[];
  ms: number;
}

/** Options of {@link openPersistentCorpus}. */
export interface OpenOptions {
  onProgress?: (p: SyncProgress) => void;
  /** Use this engine instead of a new one (the server starts answering before indexing ends). */
  engine?: Engine;
  /** The metadata overrides to apply, instead of reading `duikou.metadata.json` (the caller read it, or kept the last good one). */
  overrides?: MetadataOverrides;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, file TEXT NOT NULL, size INTEGER NOT NULL, mtime_ms REAL NOT NULL,
    hash TEXT NOT NULL, text TEXT NOT NULL, pages TEXT
  ) STRICT;
  CREATE TABLE IF NOT EXISTS passages (
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, kind TEXT NOT NULL, lang TEXT NOT NULL, section TEXT,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, pieces TEXT NOT NULL, level INTEGER,
    terms TEXT NOT NULL, counts TEXT NOT NULL, words INTEGER NOT NULL, bigrams TEXT NOT NULL,
    PRIMARY KEY (doc_id, ordinal)
  ) STRICT, WITHOUT ROWID;
  ${STATE_SCHEMA}
`;

/** The version key of the persisted index: the format, and the dictionary the analyzer segments with. */
export function indexFormatKey(): string {
  let dict: string;
  try {
    dict = createHash('sha256').update(readFileSync(USER_DICT_PATH)).digest('hex').slice(0, 16);
  } catch {
    dict = 'none';
  }
  return `${INDEX_FORMAT_VERSION}:${dict}`;
}

function openIndexFile(file: string): DB {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT');
    const key = indexFormatKey();
    const stored = db.prepare("SELECT value FROM meta WHERE key = 'format'").get() as { value: string } | undefined;
    db.transaction(() => {
      if (stored?.value !== key) {
        // Stale or new: everything in here is derived from the corpus, so start over
        // with the current schema.
        db.exec('DROP TABLE IF EXISTS passages; DROP TABLE IF EXISTS documents; DROP TABLE IF EXISTS state;');
        db.prepare("INSERT INTO meta (key, value) VALUES ('format', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key);
      }
      db.exec(SCHEMA);
    })();
    // A damaged page of the list of papers shows here; damage deeper in the file shows
    // when a paper is read, and the sync then rebuilds (see isIndexDamage).
    db.prepare('SELECT id, file, size, mtime_ms, hash FROM documents').all();
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Move a damaged index file (and its WAL and shared-memory files) aside, as
 * `index.db.damaged-<time>`, so a fresh one can be built in its place.
 * @returns the path it was moved to
 */
export function moveIndexAside(file: string): string {
  const aside = `${file}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(file, aside);
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(file + suffix)) renameSync(file + suffix, aside + suffix);
  }
  return aside;
}

/** Is this error the index database being damaged (truncated, overwritten, not a database)? */
export function isIndexDamage(err: unknown): boolean {
  return storageFailure(err) === 'corrupt';
}

/**
 * Open (or create) the index database, wiping it when its format is not the
 * current one. The index is a cache of the corpus: a damaged file is moved
 * aside (see {@link moveIndexAside}) and rebuilt, with a line on stderr.
 * @throws DataFileError naming the file when it cannot be written (a read-only data folder, a full disk)
 */
export function openIndexDatabase(file: string): DB {
  try {
    mkdirSync(dirname(resolve(file)), { recursive: true });
    return openIndexFile(file);
  } catch (err) {
    const failure = storageFailure(err);
    if (failure === 'corrupt') {
      const aside = moveIndexAside(file);
      process.stderr.write(
        `duikou: ${file} (the search index) was damaged (${(err as Error).message}); moved it to ${aside} and rebuilding it from the corpus.\n`,
      );
      try {
        return openIndexFile(file);
      } catch (again) {
        const f = storageFailure(again);
        if (f === null) throw again;
        throw new DataFileError(describeStorageFailure(file, f, again, 'the search index'), file, f, { cause: again });
      }
    }
    if (failure === null) throw err;
    throw new DataFileError(describeStorageFailure(file, failure, err, 'the search index'), file, failure, { cause: err });
  }
}

/**
 * Keep the metadata overrides last read without a mistake, so a start with a
 * broken `duikou.metadata.json` still shows the titles the researcher set.
 */
export function saveGoodOverrides(db: DB, overrides: MetadataOverrides): void {
  db.prepare("INSERT INTO meta (key, value) VALUES ('overrides', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(
    JSON.stringify(overrides),
  );
}

/** The overrides saved by {@link saveGoodOverrides}, or none. */
export function lastGoodOverrides(db: DB): MetadataOverrides {
  const row = db.prepare("SELECT value FROM meta WHERE key = 'overrides'").get() as { value: string } | undefined;
  if (!row) return noOverrides();
  try {
    return checkMetadataOverrides(JSON.parse(row.value), METADATA_FILE);
  } catch {
    return noOverrides();
  }
}

/**
 * Serve the papers of the persisted index as they were last indexed, without
 * the corpus folder (it is missing: moved, deleted, or a drive not mounted).
 * Papers already in the engine are left as they are.
 * @returns how many papers were loaded
 */
export function loadFromIndex(engine: Engine, db: DB, overrides: MetadataOverrides): number {
  let n = 0;
  for (const row of db.prepare('SELECT * FROM documents ORDER BY file').all() as DocRow[]) {
    if (engine.document(row.id)) continue;
    engine.addPrepared(fromStore(db, row, overrides));
    n++;
  }
  return n;
}

interface DocRow {
  id: string;
  file: string;
  size: number;
  mtime_ms: number;
  hash: string;
  text: string;
  pages: string | null;
}

interface PassageRow {
  ordinal: number;
  kind: PassageKind;
  lang: Lang;
  section: string | null;
  start: number;
  end: number;
  pieces: string;
  level: number | null;
  terms: string;
  counts: string;
  words: number;
  bigrams: string;
}

function applyOverrides(meta: DocumentMeta, overrides: MetadataOverrides): DocumentMeta {
  const o = overrideFor(overrides, meta.id);
  return o ? { ...meta, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } : meta;
}

/** A stored paper as the engine takes it, without segmenting or analysing anything. */
function fromStore(db: DB, row: DocRow, overrides: MetadataOverrides): PreparedDocument {
  const meta = applyOverrides(
    detectedMetadata(row.id, row.hash, () => row.text),
    overrides,
  );
  const doc: LoadedDocument = { ...meta, text: row.text, hash: row.hash, file: row.file };
  if (row.pages) doc.pages = JSON.parse(row.pages) as LoadedDocument['pages'];
  const rows = db.prepare('SELECT * FROM passages WHERE doc_id = ? ORDER BY ordinal').all(row.id) as PassageRow[];
  return {
    doc,
    passages: rows.map((p) => ({
      passage: {
        docId: row.id,
        ordinal: p.ordinal,
        kind: p.kind,
        lang: p.lang,
        section: p.section,
        start: p.start,
        end: p.end,
        pieces: JSON.parse(p.pieces) as Span[],
        ...(p.level !== null && { level: p.level }),
      },
      terms: p.terms === '' ? [] : p.terms.split(' '),
      counts: p.counts === '' ? [] : p.counts.split(' ').map(Number),
      words: p.words,
      bigrams: p.bigrams === '' ? [] : p.bigrams.split(' '),
    })),
  };
}

/**
 * Write a paper's row in the index — its text, pages and file stamp —
 * replacing the row of the same id (and, through the foreign key, its
 * passages). Callers wrap it in a transaction with whatever goes with it.
 * @param size - the file's size, -1 while its passages are still being written (see {@link save})
 * @param mtimeMs - the file's modification time, -1 likewise
 */
export function saveDocumentRow(
  db: DB,
  doc: Pick<LoadedDocument, 'id' | 'file' | 'hash' | 'text' | 'pages'>,
  size: number,
  mtimeMs: number,
): void {
  db.prepare('DELETE FROM documents WHERE id = ?').run(doc.id);
  db.prepare('INSERT INTO documents (id, file, size, mtime_ms, hash, text, pages) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    doc.id,
    doc.file,
    size,
    mtimeMs,
    doc.hash,
    doc.text,
    doc.pages ? JSON.stringify(doc.pages) : null,
  );
}

/** Passages written per transaction by {@link save}. */
const SAVE_BATCH = 200;

/**
 * Store a prepared paper, a batch of passages per transaction with `pause`
 * between them (a large paper must not hold up requests). The paper's file
 * stamp is written last, so a paper cut short by a crash does not look
 * unchanged at the next start and is indexed again.
 */
async function save(db: DB, prep: PreparedDocument, size: number, mtimeMs: number, pause: () => Promise<void>): Promise<void> {
  const { doc } = prep;
  db.transaction(() => saveDocumentRow(db, doc, -1, -1))();
  const ins = db.prepare(
    `INSERT INTO passages (doc_id, ordinal, kind, lang, section, start, "end", pieces, level, terms, counts, words, bigrams)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const batch = db.transaction((items: PreparedDocument['passages']) => {
    for (const { passage: p, terms, counts, words, bigrams } of items) {
      ins.run(
        doc.id,
        p.ordinal,
        p.kind,
        p.lang,
        p.section,
        p.start,
        p.end,
        JSON.stringify(p.pieces),
        p.level ?? null,
        terms.join(' '),
        counts.join(' '),
        words,
        bigrams.join(' '),
      );
    }
  });
  for (let i = 0; i < prep.passages.length; i += SAVE_BATCH) {
    batch(prep.passages.slice(i, i + SAVE_BATCH));
    await pause();
  }
  db.prepare('UPDATE documents SET size = ?, mtime_ms = ? WHERE id = ?').run(size, mtimeMs, doc.id);
}

/**
 * Take over the persisted engine state (see state-store.ts) when the engine
 * is empty and the state was taken with exactly the papers the index holds:
 * a restart then adds no passage again. The papers' metadata is the one
 * detected when they were indexed, with today's overrides.
 * @returns when the state was taken over, the check of the papers' texts (see {@link checkTexts}), else null
 */
async function restoreState(engine: Engine, db: DB, overrides: MetadataOverrides): Promise<{ check: Promise<Error | null> } | null> {
  if (engine.documents().length > 0) return null;
  await dropLeftoverFiles(db);
  // On another core while the state is read here.
  const check = checkTexts(db.name);
  // jieba's dictionary (about a second of this thread) loads while the thread pool reads the
  // index's large arrays, rather than after them: the first Chinese query no longer waits for it.
  const found = await readState(db, (head) => {
    if (head.zh) preloadJieba();
  });
  // Papers added meanwhile (the state was read on the thread pool): the sync adds the rest.
  if (!found || engine.documents().length > 0) return null;
  // Texts read when something needs them (see texts.ts), not the 80 million characters of a 100 MB corpus now.
  const texts = textsOf(db);
  const docs: LoadedDocument[] = [];
  for (const row of found.papers) {
    const detectedMeta = found.meta[row.id];
    if (!detectedMeta) return null;
    remember(row.id, row.hash, detectedMeta);
    const doc: Omit<LoadedDocument, 'text'> = { ...applyOverrides(detectedMeta, overrides), hash: row.hash, file: row.file };
    if (row.pages) doc.pages = JSON.parse(row.pages) as LoadedDocument['pages'];
    docs.push(texts.lazy(doc, row.id, row.hash, found.lengths[row.id]));
  }
  engine.restore(found.state, docs);
  // Wrapped: an async function returning a promise would wait for it.
  return { check };
}

/**
 * Read every paper's text in the index once, on a worker thread: a restart
 * reads texts only when they are needed, and damage deep in the file (which
 * reading them all at start used to show) must still lead to a rebuild.
 * @returns the error met (with SQLite's code), or null; null too when the check could not run
 */
function checkTexts(file: string): Promise<Error | null> {
  return new Promise((resolveCheck) => {
    let worker;
    try {
      worker = startWorker(workerScript('../../workers/check-texts-worker', import.meta.url), { workerData: { file } });
    } catch {
      resolveCheck(null);
      return;
    }
    worker.once('message', (m: { code: string | undefined; message: string } | null) =>
      resolveCheck(m && Object.assign(new Error(m.message), { code: m.code })),
    );
    // A worker that could not start or run (no memory, no thread) says nothing about the file.
    worker.once('error', () => resolveCheck(null));
    worker.once('exit', () => resolveCheck(null));
  });
}

/** Detected metadata by document and text hash: a later sync need not segment an unchanged paper again. */
const detected = new Map<string, DocumentMeta>();
function detectedMetadata(id: string, hash: string, text: () => string): DocumentMeta {
  return detected.get(`${id}\u0000${hash}`) ?? remember(id, hash, detectMetadata(id, text()));
}

/** Keep what was detected in a paper (see {@link detectedMetadata}). */
function remember(id: string, hash: string, meta: DocumentMeta): DocumentMeta {
  if (detected.size >= 100_000) detected.clear();
  detected.set(`${id}\u0000${hash}`, meta);
  return meta;
}

/**
 * Files the importer refused, with the size and time they had then: a bomb
 * left in the corpus folder is not parsed again at every sync (each change in
 * the folder), only when it changes or duikou restarts.
 */
const refused = new Map<string, { size: number; mtimeMs: number; message: string }>();

function refusedBefore(dir: string, file: string, st: { size: number; mtimeMs: number } | null): string | null {
  const r = refused.get(join(dir, file));
  return r && st && r.size === st.size && r.mtimeMs === st.mtimeMs ? r.message : null;
}

/** Let the event loop answer requests between papers. */
const breathe = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Bring the engine and the persisted index in line with the corpus folder
 * (or the library's folders): reuse unchanged papers, index new and changed
 * ones, drop removed ones. A file whose id another file already has is
 * reported in `errors` and not read.
 */
export async function syncCorpus(engine: Engine, db: DB, corpus: string | Library, opts: OpenOptions = {}): Promise<SyncStats> {
  const started = Date.now();
  const lib = asLibrary(corpus);
  // Uploads are written to the library folder only (never to the read-only sample).
  await removeStaleUploads(lib.dir);
  // Whether the library folder is there now: if it goes away during the sync, its papers are kept (see below).
  const hadFolder = existsSync(lib.dir);
  const overrides = opts.overrides ?? (await readLibraryOverrides(lib));
  const { papers: files, errors: listed } = await listPapers(lib);
  const stats: SyncStats = {
    files: files.length,
    reused: 0,
    indexed: 0,
    removed: 0,
    restored: false,
    errors: listed.map(({ file, message }) => ({ file, message })),
    ms: 0,
  };
  // The persisted state first: the papers unchanged since are then already in the engine.
  const taken = await restoreState(engine, db, overrides);
  const restored = taken !== null;
  stats.restored = restored;
  /** Whether the engine's papers changed during this sync, so the persisted state must be written again. */
  let changed = !restored && engine.documents().length === 0;
  const stored = new Map((db.prepare('SELECT id, file, size, mtime_ms, hash FROM documents').all() as DocRow[]).map((r) => [r.file, r]));
  const getText = db.prepare('SELECT text, pages FROM documents WHERE id = ?');

  const plan = files.map(({ dir, file }) => {
    let st: { size: number; mtimeMs: number } | null;
    try {
      st = statSync(join(dir, file));
    } catch {
      st = null;
    }
    const row = stored.get(file);
    const unchanged = row !== undefined && st !== null && row.size === st.size && row.mtime_ms === st.mtimeMs;
    return { dir, file, st, row, unchanged };
  });
  const totalBytes = plan.filter((p) => !p.unchanged).reduce((n, p) => n + (p.st?.size ?? 0), 0);
  let bytes = 0;
  const seen = new Set<string>();
  const indexStart = Date.now();

  for (const [i, p] of plan.entries()) {
    const report = (): void => {
      const elapsed = Date.now() - indexStart;
      const etaMs = estimateRemaining(elapsed, bytes, totalBytes);
      opts.onProgress?.({ done: i + 1, total: plan.length, bytes, totalBytes, file: p.file, etaMs });
    };
    try {
      const inEngine = p.row ? engine.document(p.row.id) : undefined;
      if (p.unchanged && p.row && inEngine?.hash === p.row.hash) {
        // Already indexed in this process (a later sync): only metadata may have changed.
        engine.setMetadata(
          applyOverrides(
            detectedMetadata(p.row.id, inEngine.hash, () => inEngine.text),
            overrides,
          ),
        );
        seen.add(p.row.id);
        stats.reused++;
      } else if (p.unchanged && p.row) {
        const row = { ...p.row, ...(getText.get(p.row.id) as { text: string; pages: string | null }) };
        engine.addPrepared(fromStore(db, row, overrides));
        changed = true;
        seen.add(p.row.id);
        stats.reused++;
      } else if (refusedBefore(p.dir, p.file, p.st)) {
        // Refused before and unchanged since: named again, not parsed again at every sync.
        stats.errors.push({ file: p.file, message: refusedBefore(p.dir, p.file, p.st)! });
      } else {
        // Converted, segmented and analysed in the contained worker: a hostile file fails there, by name.
        const prep = await containedImporter().load(p.dir, p.file, overrides);
        const { doc } = prep;
        // Without an override, the importer's metadata is the detected one: no need to segment again to persist it.
        if (!overrideFor(overrides, doc.id)) {
          const { id, title, authors, year, venue, lang } = doc;
          remember(id, doc.hash, { id, title, authors, year, venue, lang });
        }
        if (p.row && p.row.hash === doc.hash && p.row.id === doc.id) {
          // Touched but not changed (copied, re-saved): only the file's stamp moves.
          db.prepare('UPDATE documents SET size = ?, mtime_ms = ? WHERE id = ?').run(p.st?.size ?? 0, p.st?.mtimeMs ?? 0, doc.id);
          if (inEngine?.hash !== doc.hash) {
            await engine.addPreparedGradually(
              fromStore(db, { ...p.row, text: doc.text, pages: doc.pages ? JSON.stringify(doc.pages) : null }, overrides),
              breathe,
            );
            changed = true;
          } else
            engine.setMetadata(
              applyOverrides(
                detectedMetadata(doc.id, doc.hash, () => doc.text),
                overrides,
              ),
            );
          stats.reused++;
        } else {
          // The version served until the new one is in reads its text from the row about to be replaced: held first.
          holdText(engine.document(doc.id));
          await save(db, prep, p.st?.size ?? 0, p.st?.mtimeMs ?? 0, breathe);
          // A slice at a time: a large paper must not hold up the requests being answered meanwhile.
          await engine.addPreparedGradually(prep, breathe);
          changed = true;
          stats.indexed++;
        }
        seen.add(doc.id);
        bytes += p.st?.size ?? 0;
        await breathe();
      }
    } catch (err) {
      // The index database itself failing (damaged, disk full, read-only) is no paper's
      // fault: stop, so the caller can report it or rebuild the index.
      if (storageFailure(err) !== null) throw err;
      // One unreadable paper must not stop the others from being indexed.
      stats.errors.push({ file: p.file, message: err instanceof Error ? err.message : String(err) });
      if (err instanceof UserInputError && p.st) refused.set(join(p.dir, p.file), { ...p.st, message: err.message });
    }
    report();
  }

  // The folder gone in the middle of the sync (moved away, a drive unplugged): its papers could not
  // be read, but they are not removed, and their annotations are not orphaned.
  if (hadFolder && !existsSync(lib.dir)) {
    throw Object.assign(new Error(`the corpus folder ${lib.dir} went missing during the sync`), { code: 'ENOENT' });
  }
  for (const row of stored.values()) {
    if (!seen.has(row.id)) {
      holdText(engine.document(row.id));
      db.prepare('DELETE FROM documents WHERE id = ?').run(row.id);
      engine.removeDocument(row.id);
      changed = true;
      stats.removed++;
    }
  }
  for (const d of engine.documents()) {
    if (!seen.has(d.id)) {
      engine.removeDocument(d.id);
      changed = true;
    }
  }
  // The papers' texts, not read at the restart, read once on another core meanwhile: a damaged index is rebuilt.
  const damage = await taken?.check;
  if (damage) throw damage;
  // A step at a time (see stateWriter): at 100 MB taking and writing the state takes seconds, and a
  // server keeps answering meanwhile; cut short, the state before stays in force.
  if (changed) await writeStateGradually(db, engine, detectedMetadata, { pause: breathe });
  stats.ms = Date.now() - started;
  return stats;
}

/**
 * Open a corpus with its persisted index under `dataDir` (`index.db`):
 * what is unchanged is loaded, not re-read; what changed is re-indexed.
 */
export async function openPersistentCorpus(
  corpus: string | Library,
  dataDir: string,
  opts: OpenOptions = {},
): Promise<{ engine: Engine; db: DB; stats: SyncStats }> {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dataDir, { recursive: true });
  const db = openIndexDatabase(join(dataDir, 'index.db'));
  const engine = opts.engine ?? new Engine();
  engine.setGlossary(loadLibraryGlossary(asLibrary(corpus)));
  const stats = await syncCorpus(engine, db, corpus, opts);
  return { engine, db, stats };
}
