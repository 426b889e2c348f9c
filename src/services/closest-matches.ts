/**
 * Every match of a query as the reader marks it: the query's own matches or, when it has none in
 * the paper and best match would loosen it (a question, a paraphrase), the matches of its words on
 * their own. A researcher who opens a paper from a best-match hit sees the words that made it a hit
 * instead of "0 matches"; one who opens a near match (see `nearWanted` in search-contract.ts) sees
 * the words it holds. The concordance and its views keep to the whole query: a keyword in
 * context of a question's single words would pass for occurrences of the question.
 */
import type { AllMatchesOptions, SearchBackend } from '../backends/types.js';
import { looseMatchQuery, nearQuery } from '../pipeline/best-match.js';
import type { ParsedQuery } from '../pipeline/query.js';
import type { PassageMatches } from '../backends/search-contract.js';

/**
 * The matches, and whether they are the loosened query's (`closest`), or, for a
 * paper opened from a near match (`near`), its near query's words wherever they
 * stand (汶川 and 地震 for 汶川地震): what made the passage a near match is
 * marked, beside the query's own matches, which hold the same words.
 */
export async function closestMatches(
  backend: Pick<SearchBackend, 'allMatches'>,
  parsed: ParsedQuery,
  opts: AllMatchesOptions,
  near = false,
): Promise<{ matches: PassageMatches[]; closest: boolean; near: boolean }> {
  const words = near ? nearQuery(parsed) : null;
  const nearWords = words === null ? null : looseMatchQuery(words);
  if (nearWords !== null) return { matches: await backend.allMatches(nearWords, opts), closest: false, near: true };
  const matches = await backend.allMatches(parsed, opts);
  if (matches.length > 0) return { matches, closest: false, near: false };
  const loose = looseMatchQuery(parsed);
  if (loose === null) return { matches, closest: false, near: false };
  return { matches: await backend.allMatches(loose, opts), closest: true, near: false };
}
