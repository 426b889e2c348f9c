/**
 * Exports as the user asks for them (a format, a filter, a citation style):
 * the store's annotations with their sections and papers, handed to the
 * format modules. Shared by `GET /api/export`, the annotations page and
 * `duikou export`.
 */
import { Readable } from 'node:stream';
import { UserInputError } from '../core/errors.js';
import { asAnnotationBackend } from '../backends/embedded/annotations.js';
import type { AnnotationBackend, PaperCatalog } from '../backends/types.js';
import {
  type CitationStyleOption,
  type ExportAnnotation,
  type ExportDocument,
  type ExportFileName,
  type ExportFormat,
  type ExportLang,
  csvStream,
  defaultExportLang,
  docxInWorker,
  exportFileName,
  exportFormats,
  markdownChunks,
  parseExportLang,
  refiQdaStream,
  webAnnotationChunks,
} from '../export/index.js';
import { passagesAt, quoteOf } from '../pipeline/quote.js';
import { pagesOf } from '../pipeline/pages.js';
import type { AnnotationStore } from '../store/annotations.js';
import type { Annotation } from '../store/annotation-types.js';
import { normalizeTagName } from '../store/annotation-rules.js';

/** The names a user types for each format (`format=md`), mapped to the format. */
export const FORMAT_NAMES: Readonly<Record<string, ExportFormat>> = {
  md: 'markdown',
  markdown: 'markdown',
  csv: 'csv',
  json: 'webannotation',
  docx: 'docx',
  qdpx: 'refiqda',
};

/** What to export. */
export interface ExportRequest {
  /** A name from {@link FORMAT_NAMES}. */
  format: string;
  tag?: string;
  docId?: string;
  /** Text to find in quotes and notes. */
  q?: string;
  /** Citation style; `auto` cites each paper in the style of its language. */
  style?: string;
  /** Group Markdown and Word exports by tag (default) or by paper. */
  groupBy?: string;
  /** Language of the labels: `en`, `zh`, or `auto`/empty for that of most of the quotes' papers. */
  lang?: string;
  /** Who asks: a coder in an open round gets only their own annotations in its papers. */
  viewer?: string;
}

/** An export ready to send: its body, content type and file name. */
export interface ExportResult {
  format: ExportFormat;
  contentType: string;
  name: ExportFileName;
  /**
   * The file as a stream: every format is written piece by piece, so a large
   * export is sent as it is made instead of being built whole in memory.
   */
  body: Readable;
  count: number;
}

function parseStyle(s: string | undefined): CitationStyleOption {
  if (s === undefined || s === '' || s === 'auto') return 'auto';
  if (s === 'apa' || s === 'gbt7714') return s;
  throw new UserInputError('bad_parameter', '"style" must be apa, gbt7714 or auto');
}

function parseGroupBy(s: string | undefined): 'tag' | 'paper' {
  if (s === undefined || s === '' || s === 'tag') return 'tag';
  if (s === 'paper') return 'paper';
  throw new UserInputError('bad_parameter', '"groupBy" must be tag or paper');
}

function parseLang(s: string | undefined): ExportLang | undefined {
  const lang = parseExportLang(s);
  if (lang === null) throw new UserInputError('bad_parameter', '"lang" must be en, zh or auto');
  return lang;
}

/**
 * What the engine knows of where an annotation stands, for its citation and
 * quote: its passage's section, its pages, and the whole quote across a
 * page-break join. An orphan's offsets no longer point at its quote: it gets
 * no page and keeps its quote as saved.
 */
export function placeAnnotation(engine: PaperCatalog, a: Annotation): Pick<ExportAnnotation, 'section' | 'page' | 'quote'> {
  const doc = engine.document(a.docId);
  const section = doc ? (passagesAt(doc.passages, a.start, a.start + 1)[0]?.section ?? null) : null;
  if (!doc || a.status === 'orphaned' || a.end > doc.text.length) return { section, page: null };
  const quote = quoteOf(doc, a.start, a.end);
  return { section, page: pagesOf(doc, a), ...(quote !== a.exact ? { quote } : {}) };
}

/** Metadata (and text, for REFI-QDA sources) of every paper, for citations. */
function documents(engine: PaperCatalog): Map<string, ExportDocument> {
  return new Map(
    engine
      .documents()
      .map((d) => [d.id, { id: d.id, title: d.title, authors: d.authors, year: d.year, venue: d.venue, lang: d.lang, text: d.text }]),
  );
}

/** The names of `tag` and its sub-tags among `tags`, matched as the store matches them (case and width folded). */
function tagSubtree(tag: string, tags: readonly { name: string }[]): string[] {
  const key = normalizeTagName(tag, { existing: true }).key;
  return tags
    .map((t) => t.name)
    .filter((name) => {
      const k = normalizeTagName(name, { existing: true }).key;
      return k === key || k.startsWith(`${key}/`);
    });
}

/**
 * Build an export.
 * @throws UserInputError for an unknown format, style or grouping
 */
export async function buildExport(
  engine: PaperCatalog,
  storeOrBackend: AnnotationStore | AnnotationBackend,
  req: ExportRequest,
): Promise<ExportResult> {
  const store = asAnnotationBackend(storeOrBackend);
  // Own names only: `constructor` or `toString` is no format, though the object literal inherits them.
  const format = Object.hasOwn(FORMAT_NAMES, req.format) ? FORMAT_NAMES[req.format] : undefined;
  if (!format) throw new UserInputError('bad_parameter', `"format" must be one of ${Object.keys(FORMAT_NAMES).join(', ')}`);
  const style = parseStyle(req.style);
  const groupBy = parseGroupBy(req.groupBy);
  const chosenLang = parseLang(req.lang);
  // A paper removed from the corpus keeps its annotations as orphans, and they still export: only a
  // paper that neither the corpus nor the annotations know is unknown.
  if (req.docId && !engine.document(req.docId) && !(await store.knownDocuments()).some((d) => d.id === req.docId)) {
    engine.requireDocument(req.docId);
  }

  const annotations: ExportAnnotation[] = (await store.list({ tag: req.tag, docId: req.docId, q: req.q, viewer: req.viewer })).map((a) => ({
    ...a,
    ...placeAnnotation(engine, a),
  }));
  const docs = documents(engine);
  // A paper no longer in the corpus still gets cited by its id, so its orphans export too.
  for (const a of annotations) {
    if (!docs.has(a.docId)) docs.set(a.docId, { id: a.docId, title: a.docId, authors: [], year: null, venue: null, lang: 'en' });
  }
  const used = [...new Set(annotations.map((a) => a.docId))].map((id) => docs.get(id)!);
  const tags = (await store.listTags(req.viewer)).map((t) => ({ name: t.name, colour: t.colour, description: t.description }));
  const input = { annotations, documents: used, tags };
  const lang = chosenLang ?? defaultExportLang(annotations, (id) => docs.get(id)?.lang);
  // Filtered to a tag: headings for that tag and its sub-tags only, as the filter selected them.
  const headingTags = req.tag ? tagSubtree(req.tag, tags) : undefined;

  const info = exportFormats[format];
  const name = exportFileName({ format, filter: { tag: req.tag, doc: req.docId, query: req.q } });
  const body = ((): Readable => {
    switch (format) {
      case 'markdown':
        return Readable.from(markdownChunks(input, { groupBy, style, headingTags, lang }));
      case 'csv':
        return csvStream(annotations, docs);
      case 'webannotation':
        return Readable.from(webAnnotationChunks({ annotations, tags }));
      case 'docx':
        return Readable.from(docxInWorker(input, { groupBy, style, headingTags, lang }));
      case 'refiqda':
        return Readable.from(refiQdaStream(input, { style, lang }));
    }
  })();
  return { format, contentType: info.contentType, name, body, count: annotations.length };
}
