/**
 * The search contract every backend answers in, whichever holds the index
 * (the embedded engine or the lab server's PostgreSQL): the options a search
 * takes, the page of hits it returns, and {@link pageOfHits}, which builds
 * that page from a ranking. Backend-neutral, so HTTP, services, the command
 * line and each backend depend on this rather than on one implementation.
 */
import { UserInputError } from '../core/errors.js';
import type { Lang, MatchSpan, Passage, PassageKind } from '../core/types.js';
import type { ParsedQuery } from '../pipeline/query.js';
import { BEST_MATCH_BELOW, type MatchMode, type RankOptions, type RankedHit } from '../pipeline/rank.js';

/** A search hit as the API returns it. */
export interface SearchHit {
  docId: string;
  title: string;
  passageId: number;
  kind: PassageKind;
  lang: Lang;
  section: string | null;
  /** Passage range in document offsets (UTF-16 code units). */
  start: number;
  end: number;
  /** The document text from `start` to `end`. */
  text: string;
  score: number;
  /** Matched ranges in document offsets, inside `[start, end)`. */
  matches: MatchSpan[];
}

/** A matching passage with every range that matched in it (document offsets). */
export interface PassageMatches {
  passage: Passage;
  matches: MatchSpan[];
}

/** A page of search results. */
export interface SearchResult {
  query: string;
  /** Parsed form of the query, for the UI (filters, terms). */
  parsed: ParsedQuery;
  total: number;
  /**
   * `eq`: `total` and `perDocument` are exact. `gte`: more passages match
   * than the engine counts exactly (`EXACT_TOTAL_UP_TO` in rank-top.ts), and
   * both are lower bounds ("at least N").
   */
  totalRelation: 'eq' | 'gte';
  hits: SearchHit[];
  /** Hit counts per document over all results (not just this page). */
  perDocument: Record<string, number>;
  /**
   * `strict`: every hit holds every word of the query. `best`: no (or few)
   * passages do, or the query reads as a question, so hits are ranked by how
   * much of the query they hold; {@link SearchResult.notice} says so.
   */
  mode: MatchMode;
  /** Passages holding every word of the query, whatever the mode. */
  strictTotal: number;
  /** What to say above the results in best-match mode (bilingual), else absent. */
  notice?: string;
  /** With `group: 'paper'`: the page's papers, each with its best hits. */
  groups?: PaperGroup[];
  /**
   * Near matches: on the page where a short strict result ends (see
   * {@link nearWanted}), up to {@link NEAR_MAX} passages that hold part of the
   * query and are no hit — a Chinese run's words apart (汶川 … 地震), one
   * word of several missing — best first, with what they hold marked. Never
   * counted in `total`; absent when there are none to show.
   */
  near?: SearchHit[];
}

/** The best hits of one paper, for results grouped by paper. */
export interface PaperGroup {
  docId: string;
  title: string;
  /** Hits in this paper over all results. */
  total: number;
  /** The paper's best hits, best first (at most {@link SearchOptions.perPaper}). */
  hits: SearchHit[];
  /** Hits of this paper not shown in the group ("N more in this paper"). */
  more: number;
}

/** Options of a search ({@link pageOfHits}, `SearchBackend.search`, the embedded `Engine.search`). */
export interface SearchOptions extends RankOptions {
  lang?: Lang;
  docs?: string[];
  /** Hits per page, or papers per page with `group: 'paper'`. */
  limit?: number;
  offset?: number;
  /** `paper`: group hits by paper, papers ordered by their best hit; `hits` is then the groups' hits in that order. */
  group?: 'none' | 'paper';
  /** Hits shown per paper when grouping (default 3). */
  perPaper?: number;
  /**
   * Only passages of these papers can pass `restrict`: the papers holding the
   * annotations a `tag:` or `note:` filter asks for. A hint, not a filter of
   * its own: a backend may fetch only these papers' candidates (the lab
   * server's WHERE clause); `restrict` still decides each passage.
   */
  within?: readonly string[];
}

/** Hits shown per paper when grouping by paper, unless asked otherwise. */
export const PER_PAPER = 3;

/**
 * What the results say when they are a best match: that no (or only a few)
 * passages hold every word, and that these are the closest.
 */
export function bestMatchNotice(strictTotal: number): string {
  if (strictTotal === 0) return 'No passage has every word; showing the closest 最接近的结果';
  if (strictTotal < BEST_MATCH_BELOW) {
    return `Only ${strictTotal} passage${strictTotal === 1 ? ' has' : 's have'} every word; showing the closest 最接近的结果`;
  }
  return 'Ranked by how much of the query each passage holds; showing the closest 最接近的结果';
}

/**
 * Below this many strict hits, the page that ends them also lists near
 * matches. A result this short is read to its end, and what a researcher
 * looks for next is the passages that say the same with the words apart
 * (新冠肺炎疫情 for 新冠疫情) or without one of them; a longer result is rarely
 * read to its end, and its near matches would only cost time.
 */
export const NEAR_BELOW = 50;

/** What the command line prints above near matches (the pages say it in their own language). */
export const NEAR_HEADING = 'Near matches: passages with part of the query, or its words apart 相近的结果';

/** Most near matches listed. */
export const NEAR_MAX = 20;

/**
 * Whether a search answered this way lists near matches: a strict result
 * (best match already ranks by how much of the query a passage holds) of
 * fewer than {@link NEAR_BELOW} passages, counted exactly, whose last hit is
 * on this page; never when asked for strict matching only, nor for results
 * grouped by paper.
 */
export function nearWanted(
  opts: SearchOptions,
  page: { offset: number; limit: number; total: number; totalRelation?: 'eq' | 'gte'; mode: MatchMode },
): boolean {
  return (
    (opts.match ?? 'auto') === 'auto' &&
    opts.group !== 'paper' &&
    page.mode === 'strict' &&
    (page.totalRelation ?? 'eq') === 'eq' &&
    page.total < NEAR_BELOW &&
    page.offset + page.limit >= page.total
  );
}

/**
 * The near matches out of a best-match ranking of {@link nearQuery}'s query
 * (best-match.ts): its hits that are not strict hits, at most {@link NEAR_MAX}.
 * @param strict - the ids of every strict hit
 */
export function nearHits(best: readonly RankedHit[], strict: ReadonlySet<number>): RankedHit[] {
  return best.filter((h) => !strict.has(h.passage.id)).slice(0, NEAR_MAX);
}

/** Largest page a search returns. */
export const MAX_LIMIT = 200;

/** What {@link pageOfHits} needs: the ranking's outcome and the page asked for. */
export interface RankedPage {
  query: string;
  parsed: ParsedQuery;
  opts: SearchOptions;
  offset: number;
  limit: number;
  total: number;
  /** Whether `total` and `perDocument` are exact (default) or lower bounds. */
  totalRelation?: 'eq' | 'gte';
  perDocument: Record<string, number>;
  mode: MatchMode;
  strictTotal: number;
  /** Every hit, best first: read only when grouping by paper. */
  ranked: readonly RankedHit[];
  /** The hits of the page (offset .. offset + limit), when not grouping. */
  page: readonly RankedHit[];
  matches: (p: Passage) => MatchSpan[];
  /** Near matches ({@link nearHits}) with their marks, when {@link nearWanted}. */
  near?: { hits: readonly RankedHit[]; matches: (p: Passage) => MatchSpan[] };
}

/**
 * The search result of a ranking, as every backend answers it: hits with
 * their text and matches, or (`group=paper`) papers in the order of their best
 * hit with their first hits. One definition, so the backends cannot drift.
 * @param textOf - a passage's text, `[start, end)` of its paper's
 * @throws UserInputError for a bad `perPaper`
 */
export function pageOfHits(r: RankedPage, titleOf: (docId: string) => string, textOf: (p: Passage) => string): SearchResult {
  const { query, parsed, opts, offset, limit, total, perDocument, mode, strictTotal, matches } = r;
  const hitOf = (h: RankedHit, matches: (p: Passage) => MatchSpan[]): SearchHit => {
    const p = h.passage;
    return {
      docId: p.docId,
      title: titleOf(p.docId),
      passageId: p.id,
      kind: p.kind,
      lang: p.lang,
      section: p.section,
      start: p.start,
      end: p.end,
      text: textOf(p),
      score: Math.round(h.score * 1000) / 1000,
      matches: matches(p),
    };
  };
  const toHit = (h: RankedHit): SearchHit => hitOf(h, matches);
  const totalRelation = r.totalRelation ?? 'eq';
  const result: SearchResult = { query, parsed, total, totalRelation, hits: [], perDocument, mode, strictTotal };
  if (mode === 'best') result.notice = bestMatchNotice(strictTotal);
  if (opts.group === 'paper') {
    const perPaper = opts.perPaper ?? PER_PAPER;
    if (!Number.isInteger(perPaper) || perPaper < 1 || perPaper > MAX_LIMIT) {
      throw new UserInputError('bad_limit', `perPaper must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    // Papers in the order of their best hit; ranked is best first, so first seen is best.
    const byPaper = new Map<string, RankedHit[]>();
    for (const h of r.ranked) {
      const list = byPaper.get(h.passage.docId);
      if (list) list.push(h);
      else byPaper.set(h.passage.docId, [h]);
    }
    result.groups = [...byPaper.entries()].slice(offset, offset + limit).map(([docId, list]) => ({
      docId,
      title: titleOf(docId),
      total: list.length,
      hits: list.slice(0, perPaper).map(toHit),
      more: Math.max(0, list.length - perPaper),
    }));
    result.hits = result.groups.flatMap((g) => g.hits);
  } else {
    result.hits = r.page.map(toHit);
  }
  if (r.near && r.near.hits.length > 0) result.near = r.near.hits.map((h) => hitOf(h, r.near!.matches));
  return result;
}
