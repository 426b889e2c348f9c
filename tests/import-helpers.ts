/**
 * Shared by the import tests: search a loaded document through the real engine
 * and return the surface text of every match, taken from the document's
 * canonical text by the match's offsets.
 */
import { Engine } from '../src/backends/embedded/engine.js';
import type { LoadedDocument } from '../src/core/types.js';

/** The canonical text under each match of `query` in `doc`. */
export function matchedText(doc: LoadedDocument, query: string): string[] {
  const engine = new Engine();
  engine.addDocument(doc);
  const out: string[] = [];
  for (const hit of engine.search(query, { limit: 200 }).hits) {
    for (const m of hit.matches) out.push(doc.text.slice(m.start, m.end));
  }
  return out;
}
