import type { Lang, LoadedDocument } from '../../src/core/types.js';

/**
 * A paper as the engine loads it, for tests that write their corpus in
 * code: its id names its hash, file and title unless `more` says otherwise.
 */
export function paper(id: string, text: string, lang: Lang, more: Partial<LoadedDocument> = {}): LoadedDocument {
  return { id, text, hash: id, file: `${id}.txt`, title: id, authors: [], year: null, venue: null, lang, ...more };
}
