/**
 * A restart on the persisted index: taking over the engine state written
 * last (see state-store.ts) instead of adding every passage again, and
 * reading every paper's text once on a worker thread meanwhile, so damage
 * deep in the file still leads to a rebuild.
 */
import type { Database as DB } from 'better-sqlite3';
import type { LoadedDocument } from '../../core/types.js';
import type { Engine } from './engine.js';
import { preloadJieba } from '../../pipeline/analyze.js';
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
 * @returns when the state was taken over, the check of the papers' texts (see {@link checkTexts}), else null
 */
export async function restoreState(engine: Engine, db: DB, overrides: MetadataOverrides): Promise<{ check: Promise<Error | null> } | null> {
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
