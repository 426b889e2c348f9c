/**
 * Worker thread reading the persisted engine state (see
 * src/backends/embedded/state-store.ts) while the main thread loads jieba's
 * dictionary: posts the state's rows and the papers (buffers transferred), or
 * null when there is no state for these papers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { readStateRows, transferable } from '../backends/embedded/state-store.js';

const db = new Database((workerData as { file: string }).file, { readonly: true, fileMustExist: true });
try {
  db.pragma('busy_timeout = 5000');
  const raw = readStateRows(db);
  parentPort!.postMessage(raw, raw ? transferable(raw) : []);
} finally {
  db.close();
}
