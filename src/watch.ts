/**
 * Live indexing: a paper dropped into, changed in or removed from the corpus
 * folder is picked up while duikou runs. Syncs are incremental (by file stamp,
 * then content hash) and run one at a time.
 */
import { type FSWatcher, watch } from 'chokidar';
import type { Database as DB } from 'better-sqlite3';
import { syncAnnotations } from './corpus.js';
import type { Engine } from './engine.js';
import { type Library, asLibrary, libraryFolders } from './library.js';
import { type SyncProgress, type SyncStats, syncCorpus } from './persist.js';
import type { AnnotationStore } from './store/annotations.js';

/** Indexing state, shown on the console and the pages. */
export interface IndexStatus {
  indexing: boolean;
  progress: SyncProgress | null;
  last: SyncStats | null;
}

/** A serial queue of corpus syncs with the state the pages show. */
export class CorpusSync {
  readonly status: IndexStatus = { indexing: false, progress: null, last: null };
  private queue: Promise<unknown> = Promise.resolve();
  private pending = false;

  constructor(
    private readonly engine: Engine,
    private readonly db: DB,
    private readonly corpus: string | Library,
    private readonly store?: AnnotationStore,
    private readonly onProgress?: (p: SyncProgress) => void,
  ) {}

  /** Run a sync after the ones already queued; bursts of requests collapse into one. */
  request(): Promise<SyncStats | null> {
    if (this.pending) return this.queue as Promise<null>;
    this.pending = true;
    const run = this.queue.then(async () => {
      this.pending = false;
      this.status.indexing = true;
      try {
        const stats = await syncCorpus(this.engine, this.db, this.corpus, {
          onProgress: (p) => {
            this.status.progress = p;
            this.onProgress?.(p);
          },
        });
        if (this.store) syncAnnotations(this.engine, this.store);
        this.status.last = stats;
        return stats;
      } finally {
        this.status.indexing = false;
        this.status.progress = null;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Watch the corpus folder (the library's folders) and sync on every change (debounced). */
  watch(onSynced?: (s: SyncStats) => void): FSWatcher {
    let timer: NodeJS.Timeout | undefined;
    const watcher = watch(libraryFolders(asLibrary(this.corpus)), {
      ignoreInitial: true,
      depth: 0,
      // Wait for a copy to finish before reading a half-written PDF.
      awaitWriteFinish: { stabilityThreshold: 300, pollInterval: 50 },
    });
    watcher.on('all', () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        void this.request().then((s) => {
          if (s) onSynced?.(s);
        });
      }, 100);
    });
    return watcher;
  }
}
