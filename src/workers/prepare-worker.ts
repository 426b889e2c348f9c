/**
 * Worker thread of {@link prepareInWorkers} (src/workers/prepare.ts): loads a paper
 * when given a file, then segments and analyses it with {@link prepareDocument}
 * and posts the PreparedDocument back. jieba's dictionary loads on the first
 * Chinese text, once per worker.
 */
import { type PreparedDocument, prepareDocument } from '../pipeline/prepare.js';
import { type PrepareTask, serveWorker } from './prepare.js';
import { loadDocument } from '../pipeline/load.js';

await serveWorker(
  async (task: PrepareTask) => {
    const doc = 'doc' in task ? task.doc : await loadDocument(task.dir, task.file, task.overrides);
    return prepareDocument(doc, { packed: task.packed ?? false });
  },
  // A packed document's biwords share one buffer (see prepareDocument): moved, not copied.
  (prep: PreparedDocument) => {
    const buffer = prep.passages[0]?.biwords?.buffer;
    return buffer instanceof ArrayBuffer && buffer.byteLength > 0 ? [buffer] : [];
  },
);
