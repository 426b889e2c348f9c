/**
 * The embedded search backend: today's in-memory {@link Engine} behind the
 * asynchronous {@link SearchBackend} interface, unchanged in behaviour.
 */
import type { Engine } from './engine.js';
import type { SearchOptions } from '../search-contract.js';
import type { PreparedDocument } from '../../pipeline/prepare.js';
import type { ParsedQuery } from '../../pipeline/query.js';
import type { AllMatchesOptions, CorpusCounts, SearchBackend } from '../types.js';

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
  async allMatches(parsed: ParsedQuery, opts: AllMatchesOptions = {}) {
    return this.engine.allMatchesParsed(parsed, opts);
  }
  async corpusCounts(terms: readonly string[]): Promise<CorpusCounts> {
    const { index } = this.engine;
    const frequencies = new Map<string, number>();
    for (const t of terms) {
      let n = 0;
      for (const id of index.lookup(t)) n += index.frequency(id, t);
      frequencies.set(t, n);
    }
    return { tokens: Math.round(index.averageLength * index.size), frequencies };
  }
}
