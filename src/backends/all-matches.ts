/**
 * Every match of a query (not a page of it) through a search backend, as
 * `Engine.allMatchesParsed` gives it from the embedded engine: the lab
 * server's reader marks a query's matches in a paper this way.
 */
import type { Passage } from '../core/types.js';
import { MAX_LIMIT, type PassageMatches, type SearchOptions } from './embedded/engine.js';
import type { ParsedQuery } from '../pipeline/query.js';
import type { SearchBackend } from './types.js';

/**
 * Each matching passage (in document order) with its matched ranges, found
 * strictly (the whole query, as a concordance needs), every page of results.
 * @param passage - the passage of a hit's id (the instance's papers)
 */
export async function allMatchesVia(
  search: SearchBackend,
  query: string,
  parsed: ParsedQuery,
  opts: Omit<SearchOptions, 'match' | 'limit' | 'offset' | 'group'>,
  passage: (id: number) => Passage | undefined,
): Promise<PassageMatches[]> {
  const out: PassageMatches[] = [];
  for (let offset = 0; ; offset += MAX_LIMIT) {
    const r = await search.search(query, parsed, { ...opts, match: 'strict', limit: MAX_LIMIT, offset });
    for (const h of r.hits) {
      const p = passage(h.passageId);
      if (p) out.push({ passage: p, matches: h.matches });
    }
    if (r.hits.length < MAX_LIMIT) break;
  }
  return out.sort((a, b) => a.passage.docId.localeCompare(b.passage.docId) || a.passage.start - b.passage.start);
}
