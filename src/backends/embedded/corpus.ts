/**
 * Opening a corpus folder: load every paper and the glossary, and index them.
 */
import { Engine } from './engine.js';
import type { ReanchorCounts } from '../../store/annotation-types.js';
import type { AnnotationStore } from '../../store/annotations.js';
import { type Library, asLibrary, loadLibrary, loadLibraryGlossary } from '../../library/library.js';

/** Progress of indexing, for the console. */
export type Progress = (done: number, total: number, docId: string) => void;

/**
 * Build a search engine over the papers in `dir` (or the library's folders).
 * A file that cannot be loaded is skipped with its error written to stderr.
 * @param onProgress - called after each document is indexed
 */
export async function openCorpus(dir: string | Library, onProgress?: Progress): Promise<Engine> {
  const lib = asLibrary(dir);
  const engine = new Engine(loadLibraryGlossary(lib));
  const { documents: docs, errors } = await loadLibrary(lib);
  for (const e of errors) process.stderr.write(`duikou: skipped ${e.message}\n`);
  docs.forEach((doc, i) => {
    engine.addDocument(doc);
    onProgress?.(i + 1, docs.length, doc.id);
  });
  return engine;
}

/**
 * Bring the annotations in line with the corpus as it is now: re-anchor those
 * made on an older text of a document, and orphan (never delete) those whose
 * document has gone from the corpus folder.
 * @returns the re-anchoring counts per document that needed any
 */
export async function syncAnnotations(engine: Engine, store: AnnotationStore): Promise<Record<string, ReanchorCounts>> {
  const out: Record<string, ReanchorCounts> = {};
  for (const d of engine.documents()) {
    const counts = await store.reanchorDocument(d.id, () => d.text, d.hash);
    if (counts.checked > 0) out[d.id] = counts;
  }
  for (const known of store.knownDocuments()) {
    if (!engine.document(known.id) && known.removedAt === null) store.orphanDocument(known.id);
  }
  return out;
}
