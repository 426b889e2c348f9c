/**
 * Opening a corpus folder: load every paper and the glossary, and index them.
 */
import { Engine } from './engine.js';
import { loadGlossary } from './pipeline/glossary.js';
import { loadCorpus } from './pipeline/load.js';

/** Progress of indexing, for the console. */
export type Progress = (done: number, total: number, docId: string) => void;

/**
 * Build a search engine over the papers in `dir`.
 * @param onProgress - called after each document is indexed
 */
export async function openCorpus(dir: string, onProgress?: Progress): Promise<Engine> {
  const engine = new Engine(loadGlossary(dir));
  const docs = await loadCorpus(dir);
  docs.forEach((doc, i) => {
    engine.addDocument(doc);
    onProgress?.(i + 1, docs.length, doc.id);
  });
  return engine;
}
