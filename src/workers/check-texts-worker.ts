/**
 * Worker thread of `checkTexts` (src/backends/embedded/persist-restore.ts): reads every
 * paper's text in the index database once, as SQLite stores it, and posts
 * back null or the error met (its code and message). A restart reads texts
 * only when they are needed, so damage deep in `index.db` is found here, on
 * another core once the engine answers, instead of by a search.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file } = workerData as { file: string };
let outcome: { code: string | undefined; message: string } | null = null;
try {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    // length() of a text reads all of it (every overflow page), without making a string of it.
    db.prepare('SELECT sum(length(text)) FROM text_parts').pluck().get();
  } finally {
    db.close();
  }
} catch (err) {
  outcome = { code: (err as { code?: string }).code, message: (err as Error).message };
}
parentPort!.postMessage(outcome);
