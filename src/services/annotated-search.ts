/**
 * Search that knows about annotations: `tag:<name>` keeps passages that
 * overlap an annotation with that tag (or a child tag), `note:<words>` those
 * overlapping an annotation whose note contains the words, and every hit
 * lists the annotations it overlaps.
 */
import type { Passage, Span } from '../core/types.js';
import type { AnnotationBackend, SearchBackend } from '../backends/types.js';
import type { PaperGroup, SearchHit, SearchOptions, SearchResult } from '../backends/search-contract.js';
import { type ParsedQuery, parseQuery } from '../pipeline/query.js';
import type { AnnotationKey } from '../store/annotation-types.js';
import { foldText } from '../store/annotation-rules.js';

/** An annotation as a search hit mentions it. */
export interface HitAnnotation extends Span {
  id: string;
  tags: string[];
  colour: string;
  note: string;
}

/** A hit with the annotations it overlaps. */
export interface AnnotatedHit extends SearchHit {
  annotations: HitAnnotation[];
}

/** Search results whose hits list their annotations. */
export interface AnnotatedResult extends Omit<SearchResult, 'hits' | 'groups' | 'near'> {
  hits: AnnotatedHit[];
  near?: AnnotatedHit[];
  groups?: Array<Omit<PaperGroup, 'hits'> & { hits: AnnotatedHit[] }>;
}

const overlaps = (a: Span, b: Span): boolean => a.start < b.end && b.start < a.end;

function byDoc<A extends AnnotationKey>(list: A[]): Map<string, A[]> {
  const m = new Map<string, A[]>();
  for (const a of list) {
    if (a.status === 'orphaned') continue;
    const arr = m.get(a.docId);
    if (arr) arr.push(a);
    else m.set(a.docId, [a]);
  }
  return m;
}

/** A query's annotation filters: the passage test (with `restrict`), and the papers that can pass it. */
export interface AnnotationFilter {
  restrict?: (p: Passage) => boolean;
  /** Only with a `tag:`/`note:` filter: the papers holding annotations for every one of them. */
  within?: string[];
}

/** The passage test of annotation groups (each must hold through an overlapping annotation), with `restrict`. */
function restrictTo(groups: Map<string, AnnotationKey[]>[], restrict: ((p: Passage) => boolean) | undefined): AnnotationFilter {
  if (groups.length === 0) return restrict ? { restrict } : {};
  const within = [...groups[0]!.keys()].filter((d) => groups.every((g) => g.has(d))).sort();
  return {
    restrict: (p: Passage): boolean =>
      groups.every((g) => (g.get(p.docId) ?? []).some((a) => p.pieces.some((piece) => overlaps(piece, a)))) &&
      (restrict === undefined || restrict(p)),
    within,
  };
}

/**
 * The passage test for a query's `tag:`/`note:` filters (every one must hold,
 * each through some annotation the viewer may see overlapping the passage),
 * combined with `restrict`, and the papers that can pass it; `restrict`
 * itself when the query has neither.
 */
export async function annotationRestrictVia(
  store: AnnotationBackend,
  parsed: ParsedQuery,
  restrict?: (p: Passage) => boolean,
  viewer?: string,
): Promise<AnnotationFilter> {
  const groups: Map<string, AnnotationKey[]>[] = [];
  // A tag filter reads where its annotations stand, not their quotes and notes.
  for (const tag of parsed.filters.tags) groups.push(byDoc(await store.listKeys({ tag, viewer })));
  for (const words of parsed.filters.notes) {
    const needle = foldText(words);
    groups.push(byDoc((await store.list({ q: words, viewer })).filter((a) => foldText(a.note).includes(needle))));
  }
  return restrictTo(groups, restrict);
}

/**
 * Run a search with the annotation filters and hit annotations.
 * @throws UserInputError as {@link SearchBackend.search} does
 */
export async function searchWithAnnotations(
  search: SearchBackend,
  store: AnnotationBackend,
  query: string,
  opts: SearchOptions = {},
  viewer?: string,
): Promise<AnnotatedResult> {
  const parsed = parseQuery(query);
  const filter = await annotationRestrictVia(store, parsed, opts.restrict, viewer);
  const result = await search.search(query, parsed, { ...opts, ...filter });

  // The papers' annotations as keys, and in full (their notes) only those a hit on the page overlaps.
  const pageHits = [...result.hits, ...(result.groups ?? []).flatMap((g) => g.hits), ...(result.near ?? [])];
  const shown: string[] = [];
  for (const d of new Set(pageHits.map((h) => h.docId))) {
    const hits = pageHits.filter((h) => h.docId === d);
    for (const k of await store.listKeys({ docId: d, orphaned: false, viewer })) if (hits.some((h) => overlaps(k, h))) shown.push(k.id);
  }
  const byDocOnPage = byDoc(shown.length === 0 ? [] : await store.list({ ids: shown, orphaned: false, viewer }));
  const annotate = (h: SearchHit): AnnotatedHit => ({
    ...h,
    annotations: (byDocOnPage.get(h.docId) ?? [])
      .filter((a) => overlaps(a, h))
      .map((a) => ({ id: a.id, start: a.start, end: a.end, tags: a.tags, colour: a.colour, note: a.note })),
  });
  const { groups: byPaper, near, ...rest } = result;
  const annotated: AnnotatedResult = { ...rest, hits: result.hits.map(annotate) };
  if (near) annotated.near = near.map(annotate);
  // Grouped results hold the same hits, by paper: they list their annotations too.
  if (byPaper) annotated.groups = byPaper.map((g) => ({ ...g, hits: g.hits.map(annotate) }));
  return annotated;
}
