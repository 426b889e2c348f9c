/**
 * A restart on the persisted index: taking over the engine state written
 * last (see state-store.ts) instead of adding every passage again; then,
 * while the engine answers, reading what it left on disk into memory and
 * every paper's text once on a worker thread, so damage deep in the file
 * still leads to a rebuild.
 */
import type { Database as DB } from 'better-sqlite3';
import type { LoadedDocument } from '../../core/types.js';
import type { Engine } from './engine.js';
import { preloadJieba, rememberCuts } from '../../pipeline/jieba.js';
import type { MetadataOverrides } from '../../pipeline/metadata-file.js';
import { readState } from './state-read.js';
import { dropLeftoverFiles } from './state-store.js';
import { textsOf } from './texts.js';
import { applyOverrides, remember } from './paper-rows.js';
import { startWorker, workerScript } from '../../workers/prepare.js';

/**
 * Take over the persisted engine state (see state-store.ts) when the engine
 * is empty and the state was taken with exactly the papers the index holds:
 * a restart then adds no passage again. The papers' metadata is the one
 * detected when they were indexed, with today's overrides.
 * @returns when the state was taken over, the check of the papers' texts (see {@link checkTexts}, after
 *   the triples left on disk are read; a failure to read them is its error), else null
 */
export async function restoreState(engine: Engine, db: DB, overrides: MetadataOverrides): Promise<{ check: Promise<Error | null> } | null> {
  if (engine.documents().length > 0) return null;
  await dropLeftoverFiles(db);
  // jieba's dictionary (a second or more) loads while the thread pool reads the index's large arrays,
  // rather than after them: the first Chinese query no longer waits for it. On a server it loads on
  // jieba's own thread (see src/workers/jieba-thread.ts), so this thread goes on meanwhile.
  let jiebaLoaded: Promise<void> = Promise.resolve();
  const found = await readState(db, (head) => {
    if (head.zh) jiebaLoaded = preloadJieba();
  });
  if (!found) return null;
  // jieba's cuts of the titles and glossary terms, kept with the index: queries that need no Chinese words
  // of their own are answered without waiting for jieba's dictionary (see src/workers/jieba-thread.ts).
  rememberCuts(found.cuts);
  for (const cuts of found.paperCuts.values()) rememberCuts(cuts);
  // Papers added meanwhile (the state was read on the thread pool): the sync adds the rest.
  if (engine.documents().length > 0) {
    found.state.deferredTriples?.discard();
    return null;
  }
  // Texts read when something needs them (see texts.ts), not the 80 million characters of a 100 MB corpus now.
  const texts = textsOf(db);
  const docs: LoadedDocument[] = [];
  for (const row of found.papers) {
    const detectedMeta = found.meta[row.id];
    if (!detectedMeta) {
      found.state.deferredTriples?.discard();
      return null;
    }
    remember(row.id, row.hash, detectedMeta);
    const doc: Omit<LoadedDocument, 'text'> = { ...applyOverrides(detectedMeta, overrides), hash: row.hash, file: row.file };
    if (row.pages) doc.pages = JSON.parse(row.pages) as LoadedDocument['pages'];
    docs.push(texts.lazy(doc, row.id, row.hash, found.lengths[row.id]));
  }
  engine.restore(found.state, docs);
  for (const [id, cuts] of found.paperCuts) engine.keepCuts(id, cuts);
  // Titles analysed while the first requests are answered, once jieba can cut the Chinese ones without
  // making this thread wait for its dictionary (a failure here only leaves them to the first query).
  void jiebaLoaded.then(() => engine.warmTitles()).catch(() => undefined);
  // The engine answers now. What the restart left on disk is read after this, on the thread pool and
  // then another core, rather than alongside the reads the first answer waits for: at a gigabyte of
  // papers, 3.4 GB of triples and the texts' check read meanwhile made a restart take twice as long.
  const check = engine.loadDeferred().then(
    () => checkTexts(db.name),
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );
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
