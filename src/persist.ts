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
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as DB } from 'better-sqlite3';
import type { DocumentMeta, Lang, LoadedDocument, PassageKind, Span } from './core/types.js';
import { Engine, type PreparedDocument, prepareDocument } from './engine.js';
import { USER_DICT_PATH } from './pipeline/analyze.js';
import { type Library, asLibrary, listPapers, loadLibraryGlossary, readLibraryOverrides } from './library.js';
import { INDEX_FORMAT_VERSION } from './pipeline/index.js';
import { estimateRemaining } from './progress.js';
import { type MetadataOverrides, detectMetadata, loadDocument } from './pipeline/load.js';

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
  /** Files that could not be read, with the reason. */
  errors: { file: string; message: string }[];
  ms: number;
}

/** Options of {@link openPersistentCorpus}. */
export interface OpenOptions {
  onProgress?: (p: SyncProgress) => void;
  /** Use this engine instead of a new one (the server starts answering before indexing ends). */
  engine?: Engine;
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
    terms TEXT NOT NULL, counts TEXT NOT NULL, words INTEGER NOT NULL,
    PRIMARY KEY (doc_id, ordinal)
  ) STRICT, WITHOUT ROWID;
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

/** Open (or create) the index database, wiping it when its format is not the current one. */
export function openIndexDatabase(file: string): DB {
  const db = new Database(file);
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
      db.exec('DROP TABLE IF EXISTS passages; DROP TABLE IF EXISTS documents;');
      db.prepare("INSERT INTO meta (key, value) VALUES ('format', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key);
    }
    db.exec(SCHEMA);
  })();
  return db;
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
}

function applyOverrides(meta: DocumentMeta, overrides: MetadataOverrides): DocumentMeta {
  const o = overrides[meta.id];
  return o ? { ...meta, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } : meta;
}

/** A stored paper as the engine takes it, without segmenting or analysing anything. */
function fromStore(db: DB, row: DocRow, overrides: MetadataOverrides): PreparedDocument {
  const meta = applyOverrides(detectMetadata(row.id, row.text), overrides);
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
    })),
  };
}

function save(db: DB, prep: PreparedDocument, size: number, mtimeMs: number): void {
  const { doc } = prep;
  db.transaction(() => {
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
    const ins = db.prepare(
      `INSERT INTO passages (doc_id, ordinal, kind, lang, section, start, "end", pieces, level, terms, counts, words)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const { passage: p, terms, counts, words } of prep.passages) {
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
      );
    }
  })();
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
  const overrides = await readLibraryOverrides(lib);
  const { papers: files, errors: listed } = await listPapers(lib);
  const stats: SyncStats = {
    files: files.length,
    reused: 0,
    indexed: 0,
    removed: 0,
    errors: listed.map(({ file, message }) => ({ file, message })),
    ms: 0,
  };
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
        engine.setMetadata(applyOverrides(detectMetadata(p.row.id, inEngine.text), overrides));
        seen.add(p.row.id);
        stats.reused++;
      } else if (p.unchanged && p.row) {
        const row = { ...p.row, ...(getText.get(p.row.id) as { text: string; pages: string | null }) };
        engine.addPrepared(fromStore(db, row, overrides));
        seen.add(p.row.id);
        stats.reused++;
      } else {
        const doc = await loadDocument(p.dir, p.file, overrides);
        if (p.row && p.row.hash === doc.hash && p.row.id === doc.id) {
          // Touched but not changed (copied, re-saved): only the file's stamp moves.
          db.prepare('UPDATE documents SET size = ?, mtime_ms = ? WHERE id = ?').run(p.st?.size ?? 0, p.st?.mtimeMs ?? 0, doc.id);
          engine.addPrepared(fromStore(db, { ...p.row, text: doc.text, pages: doc.pages ? JSON.stringify(doc.pages) : null }, overrides));
          stats.reused++;
        } else {
          const prep = prepareDocument(doc);
          save(db, prep, p.st?.size ?? 0, p.st?.mtimeMs ?? 0);
          engine.addPrepared(prep);
          stats.indexed++;
        }
        seen.add(doc.id);
        bytes += p.st?.size ?? 0;
        await breathe();
      }
    } catch (err) {
      // One unreadable paper must not stop the others from being indexed.
      stats.errors.push({ file: p.file, message: err instanceof Error ? err.message : String(err) });
    }
    report();
  }

  for (const row of stored.values()) {
    if (!seen.has(row.id)) {
      db.prepare('DELETE FROM documents WHERE id = ?').run(row.id);
      engine.removeDocument(row.id);
      stats.removed++;
    }
  }
  for (const d of engine.documents()) {
    if (!seen.has(d.id)) engine.removeDocument(d.id);
  }
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
