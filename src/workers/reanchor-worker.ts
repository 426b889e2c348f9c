/**
 * Worker thread of {@link planReanchorOffThread} (reanchor.ts): re-anchors one
 * paper's annotations on its new text (see `reanchor` in src/store/anchor.ts),
 * posting each one's change as soon as it is placed, so that what was placed
 * before the worker is stopped for its limits is kept; then posts `done`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { reanchor } from '../store/anchor.js';
import { type ReanchorSelector, reanchorChange } from '../store/annotation-rows.js';

const { text, rows } = workerData as { text: string; rows: ReanchorSelector[] };
rows.forEach((row, i) => parentPort!.postMessage({ i, change: reanchorChange(text, row, reanchor(text, row)) }));
parentPort!.postMessage('done');
