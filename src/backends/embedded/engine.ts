/**
 * The search engine: the pipeline stages wired together over one corpus.
 * load → normalize → segment → analyze → index → query → rank. Storage and HTTP
 * sit on top of this and hold no search logic of their own.
 *
 * {@link Engine} is built up by concern, one module each (see
 * engine-tables.ts): what it holds and the lookups ranking makes on it
 * (engine-tables.ts), adding, replacing and removing papers
 * (engine-build.ts) and its persisted state (engine-state.ts). This module
 * searches, and is the one callers import.
 */
import type { MatchSpan, Passage, Lang } from '../../core/types.js';
import { UserInputError } from '../../core/errors.js';
import { analyze } from '../../pipeline/analyze.js';
import { readPinyin } from '../../pipeline/pinyin.js';
import { parseQuery, type ParsedQuery } from '../../pipeline/query.js';
import { nearQuery } from '../../pipeline/best-match.js';
import { type MatchMode, type RankOptions, type RankedHit, rank } from '../../pipeline/rank.js';
import { type TopSource, rankTop } from '../../pipeline/rank-top.js';
import {
  MAX_LIMIT,
  NEAR_MAX,
  type PassageMatches,
  type RankedPage,
  type SearchOptions,
  type SearchResult,
  nearHits,
  nearWanted,
  pageOfHits,
} from '../search-contract.js';
import type { PaperCatalog } from '../types.js';
import { EngineSnapshots } from './engine-state.js';
import { sliceText } from './texts.js';

export type { EngineState } from './engine-state.js';

/** The corpus, its passages and index, ready to search. */
export class Engine extends EngineSnapshots implements TopSource, PaperCatalog {
  /**
   * Search with the query language.
   * @throws UserInputError for a query the parser rejects or bad paging
   */
  search(query: string, opts: SearchOptions = {}): SearchResult {
    return this.searchParsed(query, parseQuery(query), opts);
  }

  /**
   * Search with a query already parsed (the annotation layer reads its
   * `tag:`/`note:` filters first and passes them back as `restrict`).
   * @param query - the query as typed, echoed in the result
   */
  searchParsed(query: string, parsed: ParsedQuery, opts: SearchOptions = {}): SearchResult {
    this.applyFilters(parsed, opts);
    const limit = opts.limit ?? 20;
    const offset = opts.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new UserInputError('bad_limit', `limit must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    if (!Number.isInteger(offset) || offset < 0) throw new UserInputError('bad_offset', 'offset must be a whole number ≥ 0');

    // A page of hits needs only the first offset + limit of the ranking (see rankTop); grouping by
    // paper orders papers by their best hit and counts each paper's hits, so it ranks them all.
    let page: RankedHit[];
    let total: number;
    let totalRelation: 'eq' | 'gte' = 'eq';
    let perDocument: Record<string, number>;
    let ranked: RankedHit[] = [];
    let matches: (p: Passage) => MatchSpan[];
    let mode: MatchMode;
    let strictTotal: number;
    /** The first offset + limit hits of the ranking. */
    let first: readonly RankedHit[] = [];
    if (opts.group === 'paper') {
      ({ hits: ranked, matches, mode, strictTotal } = rank(this.withPinyin(parsed), this, opts));
      total = ranked.length;
      perDocument = {};
      for (const h of ranked) perDocument[h.passage.docId] = (perDocument[h.passage.docId] ?? 0) + 1;
      page = [];
    } else {
      const top = rankTop(this.withPinyin(parsed), this, opts, offset + limit);
      ({ total, totalRelation, perDocument, matches, mode, strictTotal } = top);
      first = top.hits;
      page = top.hits.slice(offset, offset + limit);
    }
    let near: RankedPage['near'];
    const nq = nearWanted(opts, { offset, limit, total, totalRelation, mode }) ? nearQuery(parsed) : null;
    if (nq !== null) {
      // The page ends the strict hits, so the ranking's first offset + limit are all of them.
      const best = rankTop(this.withPinyin(nq), this, { ...opts, match: 'best' }, total + NEAR_MAX);
      if (best.mode === 'best') near = { hits: nearHits(best.hits, new Set(first.map((h) => h.passage.id))), matches: best.matches };
    }
    return pageOfHits(
      { query, parsed, opts, offset, limit, total, totalRelation, perDocument, mode, strictTotal, ranked, page, matches, near },
      (id) => this.docs.get(id)!.title,
      (p) => sliceText(this.docs.get(p.docId)!, p.start, p.end),
    );
  }

  /**
   * Every match of a query in the corpus, not a page of it: each matching
   * passage (in document order) with its matched ranges, found by the same
   * ranking and verification as {@link searchParsed}, always strictly (an
   * occurrence is the whole query, never the part of it best match settles
   * for). A concordance is built on this.
   * @throws UserInputError for an unknown `doc:`
   */
  allMatchesParsed(parsed: ParsedQuery, opts: Omit<RankOptions, 'match'> & { lang?: Lang; docs?: string[] } = {}): PassageMatches[] {
    this.applyFilters(parsed, opts);
    const { hits, matches } = rank(this.withPinyin(parsed), this, { ...opts, match: 'strict' });
    const order = new Map(this.documents().map((d, i) => [d.id, i]));
    return hits
      .map((h) => h.passage)
      .sort((a, b) => order.get(a.docId)! - order.get(b.docId)! || a.start - b.start)
      .map((passage) => ({ passage, matches: matches(passage) }));
  }

  /** The query with words typed in pinyin also searched as the corpus's Chinese terms that sound so. */
  private withPinyin(parsed: ParsedQuery): ParsedQuery {
    const occurs = (term: string) => this.index.occurs(term);
    return readPinyin(parsed, {
      read: (letters) => this.pinyin.read(letters, occurs),
      known: (word) => analyze(word, 'query').some((t) => occurs(t.term)),
    });
  }

  /** Add the options' language and documents to the query's filters, and check the documents exist. */
  private applyFilters(parsed: ParsedQuery, opts: { lang?: Lang; docs?: string[] }): void {
    if (opts.lang) parsed.filters.lang = opts.lang;
    if (opts.docs?.length) parsed.filters.docs = [...new Set([...parsed.filters.docs, ...opts.docs])];
    for (const d of parsed.filters.docs) this.requireDocument(d);
  }
}
