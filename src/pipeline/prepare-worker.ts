/**
 * Worker thread of {@link prepareInWorkers} (src/workers/prepare.ts): loads a paper
 * when given a file, then segments and analyses it with {@link prepareDocument}
 * and posts the PreparedDocument back. jieba's dictionary loads on the first
 * Chinese text, once per worker.
 */
import { prepareDocument } from '../backends/embedded/engine.js';
import { type PrepareTask, serveWorker } from '../workers/prepare.js';
import { loadDocument } from './load.js';

await serveWorker(async (task: PrepareTask) => {
  const doc = 'doc' in task ? task.doc : await loadDocument(task.dir, task.file, task.overrides);
  return prepareDocument(doc);
});
