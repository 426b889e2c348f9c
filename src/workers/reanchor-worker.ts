/**
 * Worker thread of {@link planReanchorOffThread} (reanchor.ts): plans the
 * re-anchoring of one paper's annotations on its new text (see
 * `planReanchor` in src/store/annotation-rows.ts) and posts the plan back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type ReanchorSelector, planReanchor } from '../store/annotation-rows.js';

const { text, rows } = workerData as { text: string; rows: ReanchorSelector[] };
parentPort!.postMessage(planReanchor(text, rows));
