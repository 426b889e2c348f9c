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
 *
 * This module syncs the engine and the index with the corpus folder; opening
 * the database is in index-db.ts, a paper's rows in paper-rows.ts, and
 * taking over the persisted state at a restart in persist-restore.ts.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Database as DB } from 'better-sqlite3';
import { containedImporter } from '../../workers/contained.js';
import { UserInputError } from '../../core/errors.js';
import { Engine } from './engine.js';
import { type Library, asLibrary, listPapers, loadLibraryGlossary, readLibraryOverrides } from '../../library/library.js';
import { removeStaleUploads } from '../../library/uploads.js';
import { type MetadataOverrides, overrideFor } from '../../pipeline/metadata-file.js';
import { estimateRemaining } from '../../library/progress.js';
import { writeStateGradually } from './state-store.js';
import { holdText, readText } from './texts.js';
import { storageFailure } from '../../store/db.js';
import { openIndexDatabase } from './index-db.js';
import { type DocRow, applyOverrides, detectedMetadata, fromStore, remember, save } from './paper-rows.js';
import { restoreState } from './persist-restore.js';

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
  /**
   * Called when the engine has taken over the persisted index, and answers
   * as it will once the sync ends (its papers unchanged): the sync goes on
   * meanwhile, reading what was left on disk and checking the stored texts.
   */
  onRestored?: () => void;
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
  if (restored) opts.onRestored?.();
  /** Whether the engine's papers changed during this sync, so the persisted state must be written again. */
  let changed = !restored && engine.documents().length === 0;
  const stored = new Map((db.prepare('SELECT id, file, size, mtime_ms, hash FROM documents').all() as DocRow[]).map((r) => [r.file, r]));
  const getPages = db.prepare('SELECT pages FROM documents WHERE id = ?').pluck();

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
        const row = { ...p.row, text: readText(db, p.row.id), pages: getPages.get(p.row.id) as string | null };
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
  mkdirSync(dataDir, { recursive: true });
  const db = openIndexDatabase(join(dataDir, 'index.db'));
  const engine = opts.engine ?? new Engine();
  engine.setGlossary(loadLibraryGlossary(asLibrary(corpus)));
  const stats = await syncCorpus(engine, db, corpus, opts);
  return { engine, db, stats };
}
