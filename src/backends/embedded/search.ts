/**
 * The embedded search backend: today's in-memory {@link Engine} behind the
 * asynchronous {@link SearchBackend} interface, unchanged in behaviour.
 */
import type { Engine, PreparedDocument, SearchOptions } from './engine.js';
import type { ParsedQuery } from '../../pipeline/query.js';
import type { SearchBackend } from '../types.js';

/** {@link SearchBackend} over an {@link Engine}. */
export class EmbeddedSearchBackend implements SearchBackend {
  readonly kind = 'embedded' as const;

  constructor(readonly engine: Engine) {}

  async indexDocument(prep: PreparedDocument) {
    return this.engine.addPrepared(prep);
  }
  async removeDocument(id: string) {
    this.engine.removeDocument(id);
  }
  async search(query: string, parsed: ParsedQuery, opts: SearchOptions = {}) {
    return this.engine.searchParsed(query, parsed, opts);
  }
}
