/**
 * Live indexing: a paper dropped into, changed in or removed from the corpus
 * folder (the library's folders, see library.ts) is picked up while duikou runs. Syncs are incremental (by file stamp,
 * then content hash) and run one at a time.
 *
 * The corpus is the researcher's folder, not duikou's: whatever is in it, a
 * sync never takes the server down. A broken `duikou.metadata.json` or
 * `duikou.glossary.tsv` (the library's, which the user edits, or the
 * sample's) is reported (file, line, column) and the last good one stays in
 * use; a corpus folder (the library folder) that is moved away or deleted leaves the
 * papers indexed so far searchable, and is picked up again when it returns;
 * a damaged index is moved aside and rebuilt; any other failure is logged and
 * the last good index keeps serving. Each problem is shown on the status bar
 * (`IndexStatus.problems`, `/api/status`) until a later sync finds it gone.
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import type { Database as DB } from 'better-sqlite3';
import { FileProblemError } from '../core/errors.js';
import { syncAnnotations } from '../backends/embedded/corpus.js';
import type { Engine } from '../backends/embedded/engine.js';
import { type Library, asLibrary, libraryFolders, loadLibraryGlossary, readLibraryOverrides } from './library.js';
import { type SyncProgress, type SyncStats, syncCorpus } from '../backends/embedded/persist.js';
import { isIndexDamage, lastGoodOverrides, moveIndexAside, openIndexDatabase, saveGoodOverrides } from '../backends/embedded/index-db.js';
import { loadFromIndex } from '../backends/embedded/paper-rows.js';
import { GLOSSARY_FILE } from '../pipeline/glossary.js';
import { type MetadataOverrides, noOverrides } from '../pipeline/metadata-file.js';
import type { AnnotationStore } from '../store/annotations.js';
import { storageFailure } from '../store/db.js';

/** Something wrong with the corpus or the index that the researcher should know about. */
export interface SyncProblem {
  /** `bad_metadata`, `bad_glossary`, `corpus_missing`, `disk_full`, `storage_read_only` or `sync_failed`. */
  code: string;
  /** One clear sentence (English, with Chinese), naming the file and what happens meanwhile. */
  message: string;
  /** The file concerned (inside the corpus folder, or the folder itself), with line and column when known. */
  file?: string;
  line?: number;
  column?: number;
  /** A few lines of the file around the mistake, with a caret under it (for the console). */
  excerpt?: string;
  /** When it was first seen (ISO 8601). */
  since: string;
}

/** Indexing state, shown on the console and the pages. */
export interface IndexStatus {
  indexing: boolean;
  progress: SyncProgress | null;
  last: SyncStats | null;
  /** What is wrong now (empty when all is well); each stays until a sync finds it gone. */
  problems: SyncProblem[];
}

/** How often a missing corpus folder is looked for (ms). */
const MISSING_POLL_MS = 1000;

/** The watcher of {@link CorpusSync.watch}: emits `ready` once it watches, and survives the folder going away. */
export class CorpusWatcher extends EventEmitter {
  private inner: FSWatcher | null = null;
  private poll: NodeJS.Timeout | undefined;
  private check: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly start: () => FSWatcher,
  ) {
    super();
    this.attach();
  }

  private attach(): void {
    const w = this.start();
    this.inner = w;
    // A folder renamed or moved away sends no event for the files in it: look for it now and then.
    clearInterval(this.check);
    this.check = setInterval(() => {
      if (!this.poll && !existsSync(this.dir)) this.emit('folder-missing');
    }, MISSING_POLL_MS * 2);
    this.check.unref();
    w.on('ready', () => this.emit('ready'));
    // A watcher error (the folder vanished under it, too many files) must not become an uncaught exception.
    w.on('error', (err) => this.emit('watch-error', err));
  }

  /**
   * Stop watching until the folder exists again, then watch it anew and call `onBack`: at once, and again
   * when the new watcher is ready. A file that appears while the watcher makes its first scan of the
   * folder counts as already there and sends no event (`ignoreInitial`); the second call finds it.
   */
  waitForFolder(onBack: () => void): void {
    if (this.poll || this.closed) return;
    void this.inner?.close();
    this.inner = null;
    this.poll = setInterval(() => {
      if (!existsSync(this.dir)) return;
      clearInterval(this.poll);
      this.poll = undefined;
      if (this.closed) return;
      this.attach();
      this.inner?.once('ready', onBack);
      onBack();
    }, MISSING_POLL_MS);
    this.poll.unref();
  }

  /** Stop watching. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.poll);
    clearInterval(this.check);
    await this.inner?.close();
  }
}

/** A file's stamp, to notice that the glossary changed (null: no file). */
function stamp(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return null;
  }
}

/** A problem from an error about one of the researcher's files. */
function fileProblem(err: FileProblemError, since: string, meanwhile: string): SyncProblem {
  const { file, line, column, excerpt } = err.where;
  return {
    code: err.code,
    message: `${err.message}. ${meanwhile}`,
    file,
    ...(line !== undefined && { line }),
    ...(column !== undefined && { column }),
    ...(excerpt !== undefined && { excerpt }),
    since,
  };
}

/** A serial queue of corpus syncs with the state the pages show. */
export class CorpusSync {
  readonly status: IndexStatus = { indexing: false, progress: null, last: null, problems: [] };
  private queue: Promise<unknown> = Promise.resolve();
  private pending = false;
  private goodOverrides: MetadataOverrides | null = null;
  private glossaryStamp: string | null | undefined = undefined;
  private folderWasMissing = false;
  private watcher: CorpusWatcher | null = null;
  /** The folders read: the library folder (written to, watched for going missing) and the sample, if any. */
  private readonly lib: Library;
  private libraryMade = false;

  constructor(
    private readonly engine: Engine,
    private db: DB,
    corpus: string | Library,
    private readonly store?: AnnotationStore,
    private readonly onProgress?: (p: SyncProgress) => void,
    /** Where problems are logged (the console by default). */
    private readonly log: (line: string) => void = (line) => console.error(line),
  ) {
    this.lib = asLibrary(corpus);
  }

  /** The library folder: the corpus folder the user chose, or duikou's own library beside the sample. */
  private get corpusDir(): string {
    return this.lib.dir;
  }

  /** The index database in use (a new one after a damaged one was rebuilt). */
  get indexDb(): DB {
    return this.db;
  }

  /**
   * Run a sync after the ones already queued; bursts of requests collapse into one.
   * Never rejects: a sync that fails resolves to `null`, and the failure is
   * logged and kept in `status.problems`.
   */
  request(): Promise<SyncStats | null> {
    if (this.pending) return this.queue as Promise<null>;
    this.pending = true;
    const run = this.queue.then(async () => {
      this.pending = false;
      this.status.indexing = true;
      try {
        return await this.runOnce();
      } finally {
        this.status.indexing = false;
        this.status.progress = null;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** One sync, with every failure turned into a problem on the status bar. */
  private async runOnce(): Promise<SyncStats | null> {
    const problems: SyncProblem[] = [];
    // Re-anchoring writes to duikou.db, everything before it to index.db: a storage failure names the right one.
    let annotating = false;
    const since = (code: string, file?: string): string =>
      this.status.problems.find((p) => p.code === code && p.file === file)?.since ?? new Date().toISOString();
    try {
      if (this.lib.sample !== null && !this.libraryMade) {
        // duikou's own library folder is made at the first sync; gone later, it is missing like a corpus folder.
        this.libraryMade = true;
        mkdirSync(this.corpusDir, { recursive: true });
      }
      if (!existsSync(this.corpusDir)) {
        problems.push(this.missingFolder(since('corpus_missing', this.corpusDir)));
        return null;
      }
      if (this.folderWasMissing) {
        this.folderWasMissing = false;
        this.log(`duikou: the corpus folder ${this.corpusDir} is back; indexing it again.`);
      }
      this.reloadGlossary(problems, since);
      const { overrides, good } = await this.readOverrides(problems, since);
      const run = () => {
        // Kept in index.db for a start with a broken file; inside the run, so a damaged index is rebuilt first.
        if (good) saveGoodOverrides(this.db, overrides);
        return syncCorpus(this.engine, this.db, this.lib, {
          overrides,
          onProgress: (p) => {
            this.status.progress = p;
            this.onProgress?.(p);
          },
        });
      };
      let stats: SyncStats;
      try {
        stats = await run();
      } catch (err) {
        if (!isIndexDamage(err)) throw err;
        // The index is a cache of the corpus: move the damaged file aside and build it again.
        const file = this.db.name;
        this.db.close();
        const aside = moveIndexAside(file);
        this.log(`duikou: ${file} (the search index) is damaged (${(err as Error).message}); moved it to ${aside} and rebuilding it.`);
        this.db = openIndexDatabase(file);
        stats = await run();
      }
      if (this.store) {
        annotating = true;
        await syncAnnotations(this.engine, this.store);
      }
      this.status.last = stats;
      return stats;
    } catch (err) {
      if (!existsSync(this.corpusDir)) {
        // Moved away in the middle of the sync.
        problems.push(this.missingFolder(since('corpus_missing', this.corpusDir)));
        return null;
      }
      problems.push(this.failure(err, since, annotating && this.store ? this.store.db.name : this.db.name, annotating));
      return null;
    } finally {
      this.setProblems(problems);
    }
  }

  private missingFolder(since: string): SyncProblem {
    this.folderWasMissing = true;
    // Keep answering: at start there is nothing in the engine yet, so serve the papers as last indexed.
    let served = this.engine.documents().length;
    if (served === 0) {
      try {
        served = loadFromIndex(this.engine, this.db, this.goodOverrides ?? lastGoodOverrides(this.db));
      } catch (err) {
        this.log(`duikou: could not read the papers indexed before from ${this.db.name}: ${(err as Error).message}`);
      }
    }
    this.watcher?.waitForFolder(() => void this.request());
    const where = this.lib.sample === null ? 'or set DUIKOU_CORPUS to where it is now' : 'it is your library, inside DUIKOU_DATA';
    return {
      code: 'corpus_missing',
      message:
        `The corpus folder ${this.corpusDir} is missing (moved, renamed or deleted?). The ${served} papers indexed before stay ` +
        `searchable and your annotations are kept; put the folder back (${where}) and duikou ` +
        'picks it up again (文献文件夹不存在).',
      file: this.corpusDir,
      since,
    };
  }

  private failure(err: unknown, since: (code: string, file?: string) => string, file: string, annotations: boolean): SyncProblem {
    const failure = storageFailure(err);
    const detail = (err as Error)?.message ?? String(err);
    const what = annotations ? `your annotations' database ${file}` : `the search index ${file}`;
    if (failure === 'full') {
      return {
        code: 'disk_full',
        message: `The disk is full: ${what} cannot be updated (${detail}). The papers indexed before stay searchable; free some space and duikou tries again at the next change (磁盘已满).`,
        file,
        since: since('disk_full', file),
      };
    }
    if (failure === 'read_only') {
      return {
        code: 'storage_read_only',
        message: `${what[0]!.toUpperCase()}${what.slice(1)} cannot be written (${detail}); check that the data folder is writable. The papers indexed before stay searchable (数据文件夹不可写).`,
        file,
        since: since('storage_read_only', file),
      };
    }
    if (!(err instanceof Error && 'code' in err)) this.log(`duikou: the corpus sync failed: ${(err as Error)?.stack ?? String(err)}`);
    return {
      code: 'sync_failed',
      message: `Indexing the corpus folder failed: ${detail}. The papers indexed before stay searchable; duikou tries again at the next change (索引更新失败).`,
      since: since('sync_failed'),
    };
  }

  /**
   * Read the glossary again when one of its files changed (the library's or the sample's);
   * a broken one is reported and the last good glossary kept.
   */
  private reloadGlossary(problems: SyncProblem[], since: (code: string, file?: string) => string): void {
    const now = libraryFolders(this.lib)
      .map((dir) => stamp(join(dir, GLOSSARY_FILE)) ?? '-')
      .join('|');
    if (now === this.glossaryStamp) {
      problems.push(...this.status.problems.filter((p) => p.code === 'bad_glossary'));
      return;
    }
    try {
      this.engine.setGlossary(loadLibraryGlossary(this.lib));
      this.glossaryStamp = now;
    } catch (err) {
      if (!(err instanceof FileProblemError)) throw err;
      this.glossaryStamp = now;
      problems.push(
        fileProblem(
          err,
          since('bad_glossary', err.where.file),
          'Cross-lingual expansion uses the glossary as it was before (or none at start) until the file is fixed (词表暂未更新)',
        ),
      );
    }
  }

  /** Read the metadata files (the library's over the sample's); a broken one is reported and the last good overrides used. */
  private async readOverrides(
    problems: SyncProblem[],
    since: (code: string, file?: string) => string,
  ): Promise<{ overrides: MetadataOverrides; good: boolean }> {
    try {
      const overrides = await readLibraryOverrides(this.lib);
      this.goodOverrides = overrides;
      return { overrides, good: true };
    } catch (err) {
      if (!(err instanceof FileProblemError)) throw err;
      problems.push(
        fileProblem(
          err,
          since(err.code, err.where.file),
          'Titles, authors and years are shown as they were last read without a mistake until the file is fixed (元数据暂未更新)',
        ),
      );
      if (this.goodOverrides === null) {
        try {
          this.goodOverrides = lastGoodOverrides(this.db);
        } catch {
          // A damaged index has none to give; the sync rebuilds it.
          this.goodOverrides = noOverrides();
        }
      }
      return { overrides: this.goodOverrides, good: false };
    }
  }

  /** Replace the problems shown, logging each new one and each one that went away. */
  private setProblems(next: SyncProblem[]): void {
    const key = (p: SyncProblem) => `${p.code}\u0000${p.message}`;
    const before = new Set(this.status.problems.map(key));
    const after = new Set(next.map(key));
    for (const p of next) if (!before.has(key(p))) this.log(`duikou: ${p.message}${p.excerpt ? `\n${p.excerpt}` : ''}`);
    for (const p of this.status.problems) {
      if (!after.has(key(p)) && !next.some((n) => n.code === p.code && n.file === p.file)) {
        this.log(`duikou: resolved: ${p.file ?? p.code} is fine again.`);
      }
    }
    this.status.problems = next;
  }

  /** Watch the corpus folder (the library's folders) and sync on every change (debounced). */
  watch(onSynced?: (s: SyncStats) => void): CorpusWatcher {
    let timer: NodeJS.Timeout | undefined;
    const start = (): FSWatcher => {
      const w = watch(libraryFolders(this.lib), {
        ignoreInitial: true,
        depth: 0,
        // Wait for a copy to finish before reading a half-written PDF.
        awaitWriteFinish: { stabilityThreshold: 300, pollInterval: 50 },
      });
      w.on('all', () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          void this.request().then((s) => {
            if (s) onSynced?.(s);
          });
        }, 100);
      });
      return w;
    };
    const watcher = new CorpusWatcher(this.corpusDir, start);
    // The folder itself going away shows as a watcher error, an unlink, or nothing (a rename):
    // sync, which notices and reports it.
    watcher.on('watch-error', () => void this.request());
    watcher.on('folder-missing', () => void this.request());
    this.watcher = watcher;
    if (this.folderWasMissing) watcher.waitForFolder(() => void this.request());
    return watcher;
  }
}
