/**
 * Corpus analysis over a query, for researchers used to AntConc: the
 * concordance of every occurrence (`/concordance`, `GET /api/concordance`,
 * CSV), collocates (`/collocates`, `GET /api/collocates`), the dispersion
 * plot with counts per year (`/dispersion`, `GET /api/dispersion`), and the
 * code co-occurrence table over the annotations (`/cooccurrence`,
 * `GET /api/cooccurrence`, CSV).
 *
 * Occurrences are the search backend's verified matches
 * (`SearchBackend.allMatches`: the embedded engine's, or the lab server's
 * PostgreSQL index with match offsets computed here in Node by the same
 * code), with the query's `tag:`/`note:` filters applied as search applies
 * them, so the concordance, the plots and the reader all count the same
 * matches on either backend. Texts and tokens come from the instance's
 * engine, which holds every paper in both modes.
 */
import { type Request, type Response, Router } from 'express';
import { stringify } from 'csv-stringify/sync';
import { LRUCache } from 'lru-cache';
import { annotationRestrictVia } from '../services/annotated-search.js';
import { UserInputError } from '../core/errors.js';
import type { CorpusDocument, Lang } from '../core/types.js';
import type { PassageMatches } from '../backends/search-contract.js';
import { EmbeddedSearchBackend } from '../backends/embedded/search.js';
import { contentDisposition, exportFileName, formatNarrative, sortForReferences } from '../export/index.js';
import { collocateTerms, countWindows, scoreCollocates } from '../pipeline/collocates.js';
import { CONCORDANCE_SORTS, type ConcordanceLine, type ConcordanceSort, compareWords, concordance } from '../pipeline/concordance.js';
import { parseQuery } from '../pipeline/query.js';
import type { AnnotationBackend, SearchBackend, PaperCatalog } from '../backends/types.js';
import { type CooccurrenceUnit, cooccurrence, passagesIn } from '../services/cooccurrence.js';
import { PALETTE, annotationsUrl } from './annotation-pages.js';
import type { AppDeps } from './deps.js';
import { flag, int, lang, str } from './params.js';
import { type DispersionRow, type YearCount, dispersionSvg, yearsSvg } from './plots.js';
import { viewerOf } from './accounts.js';
import { textLength } from '../backends/embedded/texts.js';
import { type Translator, tr } from './i18n.js';

type Query = Record<string, unknown>;

/** Longest page of concordance lines. */
export const MAX_CONCORDANCE_LIMIT = 1000;

/** What an analysis request asks for, read from the query string. */
export interface AnalysisParams {
  q: string;
  lang: Lang | undefined;
  doc: string;
  expand: boolean;
  sort: ConcordanceSort;
  width: number;
  limit: number;
  offset: number;
  window: number;
  min: number;
  /** Who asks: `tag:`/`note:` filters see only the annotations a blind round shows them (set by the routes). */
  viewer?: string;
}

/** Read and check an analysis request's parameters (shared by the API and the pages). */
export function analysisParams(query: Query): AnalysisParams {
  const sort = str(query, 'sort') || 'doc';
  if (!(CONCORDANCE_SORTS as readonly string[]).includes(sort)) {
    throw new UserInputError('bad_parameter', `"sort" must be one of ${CONCORDANCE_SORTS.join(', ')}`);
  }
  // The search form sends `f=1`, and nothing for an unticked checkbox.
  const expand = str(query, 'f') === '1' && query.expand === undefined ? false : flag(query, 'expand', true);
  return {
    q: str(query, 'q'),
    lang: lang(query),
    doc: str(query, 'doc'),
    expand,
    sort: sort as ConcordanceSort,
    width: int(query, 'width', 40, 1, 200),
    limit: int(query, 'limit', 100, 1, MAX_CONCORDANCE_LIMIT),
    offset: int(query, 'offset', 0, 0, 10_000_000),
    window: int(query, 'window', 5, 1, 20),
    min: int(query, 'min', 3, 1, 10_000),
  };
}

/** `path?…` for analysis parameters, defaults left out. */
export function analysisUrl(path: string, p: Partial<AnalysisParams>): string {
  const u = new URLSearchParams();
  if (p.q) u.set('q', p.q);
  if (p.lang) u.set('lang', p.lang);
  if (p.doc) u.set('doc', p.doc);
  if (p.expand === false) u.set('expand', '0');
  if (p.sort && p.sort !== 'doc') u.set('sort', p.sort);
  if (p.width !== undefined && p.width !== 40) u.set('width', String(p.width));
  if (p.limit !== undefined && p.limit !== 100) u.set('limit', String(p.limit));
  if (p.offset) u.set('offset', String(p.offset));
  if (p.window !== undefined && p.window !== 5) u.set('window', String(p.window));
  if (p.min !== undefined && p.min !== 3) u.set('min', String(p.min));
  const qs = u.toString();
  return qs ? `${path}?${qs}` : path;
}

/**
 * What the analysis views read: the instance's papers (texts, tokens,
 * metadata), the search backend that finds the matches, and the
 * annotations (for `tag:`/`note:` and the co-occurrence table), if any.
 */
export interface AnalysisCorpus {
  engine: PaperCatalog;
  search: SearchBackend;
  annotations?: AnnotationBackend;
}

/** Every match of the request's query (empty for an empty query). */
export async function matchesOf(c: AnalysisCorpus, p: AnalysisParams): Promise<PassageMatches[]> {
  if (p.q.trim() === '') return [];
  const parsed = parseQuery(p.q);
  const filter = c.annotations ? await annotationRestrictVia(c.annotations, parsed, undefined, p.viewer) : {};
  return c.search.allMatches(parsed, {
    expand: p.expand,
    ...(p.lang ? { lang: p.lang } : {}),
    ...(p.doc ? { docs: [p.doc] } : {}),
    ...filter,
  });
}

/** A paper as analysis views name it: author–year in its own language's style. */
export function paperLabel(d: CorpusDocument): string {
  return formatNarrative(d);
}

/**
 * The reader's address of an occurrence: the paper with the same query (so
 * the same matches are marked and numbered) at match `n`.
 */
export function occurrenceUrl(docId: string, p: Pick<AnalysisParams, 'q' | 'lang' | 'expand'>, n?: number): string {
  const u = new URLSearchParams({ q: p.q });
  if (p.lang) u.set('lang', p.lang);
  if (!p.expand) u.set('expand', '0');
  return `/documents/${encodeURIComponent(docId)}?${u.toString()}${n ? `#m-${n}` : ''}`;
}

/** A concordance line as the API and the page show it. */
export function lineView(engine: PaperCatalog, line: ConcordanceLine, p: AnalysisParams) {
  const d = engine.requireDocument(line.docId);
  return {
    ...line,
    /** The exact document text of the contexts and keyword, for the page (a selection there maps to offsets). */
    raw: {
      left: d.text.slice(line.leftStart, line.start),
      keyword: d.text.slice(line.start, line.end),
      right: d.text.slice(line.end, line.rightEnd),
    },
    paper: paperLabel(d),
    title: d.title,
    year: d.year,
    url: occurrenceUrl(line.docId, p, line.n),
  };
}

/** Papers in reference-list order (author, year, title), for `sort=doc`. */
function paperOrder(engine: PaperCatalog): string[] {
  return sortForReferences(engine.documents()).map((d) => d.id);
}

/** Recent concordances, so paging through thousands of lines sorts them once. */
const recent = new LRUCache<string, ConcordanceLine[]>({ max: 8 });
/** Each engine gets its own number, so two servers in one process never share entries. */
const engineIds = new WeakMap<PaperCatalog, number>();
let nextEngineId = 1;

/** All concordance lines of a request, sorted (cached while the corpus is unchanged). */
export async function concordanceLines(c: AnalysisCorpus, p: AnalysisParams): Promise<ConcordanceLine[]> {
  const { engine } = c;
  // tag:/note: filters depend on the annotations, which change without the corpus: never cached.
  const parsed = parseQuery(p.q);
  const cacheable = parsed.filters.tags.length + parsed.filters.notes.length === 0;
  if (!engineIds.has(engine)) engineIds.set(engine, nextEngineId++);
  const key = JSON.stringify([engineIds.get(engine), engine.generation, p.q, p.lang, p.doc, p.expand, p.sort, p.width]);
  const hit = cacheable ? recent.get(key) : undefined;
  if (hit) return hit;
  const lines = await computeLines(c, p);
  if (cacheable) recent.set(key, lines);
  return lines;
}

async function computeLines(c: AnalysisCorpus, p: AnalysisParams): Promise<ConcordanceLine[]> {
  const { engine } = c;
  return concordance({ documentText: (id) => engine.document(id)?.text ?? '', tokens: (id) => engine.tokens(id) }, await matchesOf(c, p), {
    sort: p.sort,
    width: p.width,
    paperOrder: paperOrder(engine),
  });
}

/** Collocates of a request's query: the windows counted here, the corpus frequencies from the search backend's index. */
export async function collocatesOf(c: AnalysisCorpus, p: AnalysisParams) {
  const { engine } = c;
  const windows = countWindows(
    { documentText: (id) => engine.document(id)?.text ?? '', tokens: (id) => engine.tokens(id) },
    await matchesOf(c, p),
    { window: p.window, minFrequency: p.min },
  );
  const corpus = await c.search.corpusCounts(collocateTerms(windows));
  return scoreCollocates(windows, { frequency: (t) => corpus.frequencies.get(t) ?? 0, size: corpus.tokens });
}

/** The dispersion of a request's query: a row per paper (every paper, in reference order), counts per year. */
export async function dispersionOf(c: AnalysisCorpus, p: AnalysisParams) {
  const { engine } = c;
  const offsets = new Map<string, number[]>();
  for (const m of await matchesOf(c, p)) {
    const list = offsets.get(m.passage.docId) ?? [];
    list.push(...m.matches.map((s) => s.start));
    offsets.set(m.passage.docId, list);
  }
  const docs = sortForReferences(engine.documents()).filter((d) => !p.doc || d.id === p.doc);
  const rows: DispersionRow[] = docs.map((d) => ({
    docId: d.id,
    label: paperLabel(d),
    url: occurrenceUrl(d.id, p),
    length: textLength(d),
    offsets: (offsets.get(d.id) ?? []).sort((a, b) => a - b),
  }));
  const byYear = new Map<number, YearCount>();
  for (const d of docs) {
    if (d.year === null) continue;
    const y = byYear.get(d.year) ?? { year: d.year, occurrences: 0, papers: 0 };
    y.papers++;
    y.occurrences += offsets.get(d.id)?.length ?? 0;
    byYear.set(d.year, y);
  }
  const years = [...byYear.values()].sort((a, b) => a.year - b.year);
  const undated = docs.filter((d) => d.year === null);
  return {
    total: rows.reduce((n, r) => n + r.offsets.length, 0),
    rows,
    years,
    undated: { papers: undated.length, occurrences: undated.reduce((n, d) => n + (offsets.get(d.id)?.length ?? 0), 0) },
  };
}

/**
 * The CSV of a concordance (UTF-8 with BOM, formulas escaped, as the annotation
 * export), its column headings in the interface language `t` speaks.
 */
export function concordanceCsv(engine: PaperCatalog, lines: ConcordanceLine[], p: AnalysisParams, t: Translator): string {
  const header = [
    t('csv.paper'),
    t('csv.docId'),
    t('csv.title'),
    t('csv.year'),
    t('csv.section'),
    t('csv.start'),
    t('csv.end'),
    t('csv.left'),
    t('csv.keyword'),
    t('csv.right'),
    t('csv.via'),
    t('csv.link'),
  ];
  const rows = lines.map((l) => {
    const v = lineView(engine, l, p);
    return [v.paper, v.docId, v.title, v.year ?? '', v.section ?? '', v.start, v.end, v.left, v.keyword, v.right, v.via ?? '', v.url];
  });
  return stringify([header, ...rows], { bom: true, record_delimiter: 'windows', escape_formulas: true });
}

/** Send a CSV download named `duikou-<stem>-<date>[-q-<query>].csv`. */
function sendCsv(res: Response, csv: string, stem: string, query?: string): void {
  const name = exportFileName({ format: 'csv', filter: { query: query ?? null } });
  const swap = (s: string) => s.replace(/^duikou-quotes-/, `duikou-${stem}-`);
  res.set('Content-Type', 'text/csv; charset=utf-8');
  res.set('Content-Disposition', contentDisposition(swap(name.fileName), swap(name.asciiFileName)));
  res.send(csv);
}

function requireQuery(p: AnalysisParams): void {
  if (p.q.trim() === '') throw new UserInputError('empty_query', 'Add at least one search term / 请输入检索词');
}

/** The co-occurrence table with links to each cell's quotes. */
export async function cooccurrenceOf(engine: PaperCatalog, store: AnnotationBackend, unit: CooccurrenceUnit, viewer?: string) {
  // Tags on at least one annotation (a parent made only by a `/` name has none of its own),
  // Chinese ones by pinyin, Latin ones alphabetically: as a researcher looks them up.
  const tags = (await store.listTags(viewer))
    .filter((t) => t.count > 0)
    .map((t) => t.name)
    .sort(compareWords);
  // Keys only: the table reads where annotations stand and their tags, never their quotes or notes.
  const table = cooccurrence(await store.listKeys({ orphaned: false, viewer }), tags, unit, passagesIn(engine));
  return {
    unit,
    tags: table.tags,
    counts: table.counts,
    url: (i: number, j: number) =>
      i === j
        ? annotationsUrl({ tag: table.tags[i]! })
        : `${annotationsUrl({ tag: table.tags[i]! })}&with=${encodeURIComponent(table.tags[j]!)}${unit === 'passage' ? '&unit=passage' : ''}`,
  };
}

/** The `unit` parameter of the co-occurrence table. */
function unitParam(query: Query): CooccurrenceUnit {
  const u = str(query, 'unit') || 'annotation';
  if (u !== 'annotation' && u !== 'passage') throw new UserInputError('bad_parameter', '"unit" must be annotation or passage');
  return u;
}

/** The analysis views' corpus in an app: its engine, search backend and annotation backend. */
function corpusOf(deps: AppDeps): AnalysisCorpus {
  return {
    engine: deps.engine,
    search: deps.search ?? new EmbeddedSearchBackend(deps.engine),
    ...(deps.annotations ? { annotations: deps.annotations } : {}),
  };
}

/** The API routes: `/concordance`, `/collocates`, `/dispersion`, `/cooccurrence`. */
export function analysisApiRouter(deps: AppDeps): Router {
  const { engine, annotations: store } = deps;
  const c = corpusOf(deps);
  const r = Router();
  r.get('/concordance', async (req: Request, res: Response) => {
    const p = { ...analysisParams(req.query as Query), viewer: viewerOf(res).name };
    requireQuery(p);
    const format = str(req.query as Query, 'format') || 'json';
    if (format !== 'json' && format !== 'csv') throw new UserInputError('bad_parameter', '"format" must be json or csv');
    const lines = await concordanceLines(c, p);
    if (format === 'csv') return sendCsv(res, concordanceCsv(engine, lines, p, tr(res)), 'concordance', p.q);
    res.json({
      query: p.q,
      sort: p.sort,
      width: p.width,
      total: lines.length,
      offset: p.offset,
      limit: p.limit,
      lines: lines.slice(p.offset, p.offset + p.limit).map((l) => {
        const { raw: _raw, ...v } = lineView(engine, l, p);
        return v;
      }),
    });
  });
  r.get('/collocates', async (req, res) => {
    const p = { ...analysisParams(req.query as Query), viewer: viewerOf(res).name };
    requireQuery(p);
    res.json({ query: p.q, ...(await collocatesOf(c, p)) });
  });
  r.get('/dispersion', async (req, res) => {
    const p = { ...analysisParams(req.query as Query), viewer: viewerOf(res).name };
    requireQuery(p);
    const d = await dispersionOf(c, p);
    const format = str(req.query as Query, 'format') || 'json';
    if (format === 'svg') {
      // The plot as a file for a paper or slides: the same drawing the page shows.
      res.set('Content-Type', 'image/svg+xml; charset=utf-8');
      res.set('Content-Disposition', 'inline; filename="duikou-dispersion.svg"');
      return res.send(`<?xml version="1.0" encoding="UTF-8"?>\n${dispersionSvg(d.rows, tr(res)('disp.plotTitle', { q: p.q }))}`);
    }
    if (format !== 'json') throw new UserInputError('bad_parameter', '"format" must be json or svg');
    res.json({
      query: p.q,
      total: d.total,
      papers: d.rows.map((row) => ({ docId: row.docId, paper: row.label, length: row.length, offsets: row.offsets, url: row.url })),
      years: d.years,
      undated: d.undated,
    });
  });
  if (store) {
    r.get('/cooccurrence', async (req, res) => {
      const c = await cooccurrenceOf(engine, store, unitParam(req.query as Query), viewerOf(res).name);
      const format = str(req.query as Query, 'format') || 'json';
      if (format === 'csv') {
        const csv = stringify([[tr(res)('csv.tag'), ...c.tags], ...c.tags.map((t, i) => [t, ...c.counts[i]!])], {
          bom: true,
          record_delimiter: 'windows',
          escape_formulas: true,
        });
        return sendCsv(res, csv, c.unit === 'passage' ? 'cooccurrence-passages' : 'cooccurrence');
      }
      if (format !== 'json') throw new UserInputError('bad_parameter', '"format" must be json or csv');
      res.json({ unit: c.unit, tags: c.tags, counts: c.counts });
    });
  }
  return r;
}

/** The pages: `/concordance`, `/collocates`, `/dispersion`, `/cooccurrence`. */
export function analysisPagesRouter(deps: AppDeps): Router {
  const { engine, annotations: store } = deps;
  const c = corpusOf(deps);
  const r = Router();
  const base = (req: Request, res: Response, tab: 'concordance' | 'collocates' | 'dispersion') => {
    const p = { ...analysisParams(req.query as Query), viewer: viewerOf(res).name };
    if (p.doc) engine.requireDocument(p.doc);
    return {
      p,
      tab,
      title: p.q ? `${p.q} · ${tr(res)(`tab.${tab}`)} · duikou` : `${tr(res)(`tab.${tab}`)} · duikou`,
      active: 'search',
      htmlLang: 'en',
      documents: engine.documents().map((d) => ({ id: d.id, title: d.title })),
      tabs: {
        concordance: analysisUrl('/concordance', { ...p, offset: 0 }),
        collocates: analysisUrl('/collocates', { ...p, offset: 0 }),
        dispersion: analysisUrl('/dispersion', { ...p, offset: 0 }),
        search: `/search?${new URLSearchParams({ q: p.q, ...(p.expand ? {} : { expand: '0' }) }).toString()}`,
      },
    };
  };

  r.get('/concordance', async (req, res) => {
    const b = base(req, res, 'concordance');
    const { p } = b;
    const lines = p.q.trim() ? await concordanceLines(c, p) : [];
    const page = lines.slice(p.offset, p.offset + p.limit).map((l) => lineView(engine, l, p));
    const to = p.offset + page.length;
    res.render('analysis', {
      ...b,
      concordance: {
        total: lines.length,
        from: lines.length ? p.offset + 1 : 0,
        to,
        lines: page,
        sorts: CONCORDANCE_SORTS.map((s) => ({
          value: s,
          url: analysisUrl('/concordance', { ...p, sort: s, offset: 0 }),
          current: s === p.sort,
        })),
        prevUrl: p.offset > 0 ? analysisUrl('/concordance', { ...p, offset: Math.max(0, p.offset - p.limit) }) : null,
        nextUrl: to < lines.length ? analysisUrl('/concordance', { ...p, offset: to }) : null,
        csvUrl: `/api${analysisUrl('/concordance', { ...p, offset: 0, limit: 100 })}${p.q ? '&' : '?'}format=csv`,
        canCode: !!store,
      },
      palette: PALETTE,
    });
  });

  r.get('/collocates', async (req, res) => {
    const b = base(req, res, 'collocates');
    res.render('analysis', { ...b, collocates: b.p.q.trim() ? await collocatesOf(c, b.p) : null });
  });

  r.get('/dispersion', async (req, res) => {
    const b = base(req, res, 'dispersion');
    if (!b.p.q.trim()) return res.render('analysis', { ...b, dispersion: null });
    const d = await dispersionOf(c, b.p);
    res.render('analysis', {
      ...b,
      dispersion: {
        ...d,
        svg: dispersionSvg(d.rows, tr(res)('disp.plotTitle', { q: b.p.q })),
        yearsSvg: d.years.length ? yearsSvg(d.years, tr(res)('disp.yearsTitle', { q: b.p.q }), (n) => tr(res).n('disp.nPapers', n)) : null,
        svgUrl: `/api${analysisUrl('/dispersion', { ...b.p, sort: 'doc', offset: 0 })}&format=svg`,
      },
    });
  });

  if (store) {
    r.get('/cooccurrence', async (req, res) => {
      const c = await cooccurrenceOf(engine, store, unitParam(req.query as Query), viewerOf(res).name);
      res.render('cooccurrence', {
        title: `${tr(res)('title.cooc')} · duikou`,
        active: 'tags',
        htmlLang: 'en',
        tags: c.tags,
        rows: c.tags.map((t, i) => ({
          tag: t,
          url: annotationsUrl({ tag: t }),
          cells: c.counts[i]!.map((n, j) => ({ n, url: n > 0 ? c.url(i, j) : null, diagonal: i === j, other: c.tags[j]! })),
        })),
        unit: c.unit,
        csvUrl: `/api/cooccurrence?format=csv${c.unit === 'passage' ? '&unit=passage' : ''}`,
      });
    });
  }
  return r;
}
