/**
 * Word export: the quotes by tag (or by paper) with notes and citations, and a
 * reference list — the same content and order as the Markdown export, built
 * with the `docx` package.
 *
 * Layout: a heading per tag (Heading 2 for a top-level tag, one level deeper
 * per `/`, at most Heading 6), each quote a paragraph in the "Quote" style
 * (its line breaks kept), the note, a citation line with the page and the
 * section, and the reference list with hanging indents. Fonts: Times New
 * Roman for Latin text, SimSun (宋体) for Chinese.
 *
 * Quotes are set off by indentation on both sides, not by italics: Chinese
 * fonts have no italic, and Word can only slant the glyphs. Every quote, in
 * either language, uses the same style, which a researcher can restyle in
 * Word at once. Labels are in one language (see `labels.ts`).
 */
import { buffer } from 'node:stream/consumers';
import { AlignmentType, Document, HeadingLevel, Packer, Paragraph, TextRun } from 'docx';
import { strFromU8, unzipSync } from 'fflate';
import { type CitationStyleOption, formatQuoteCitation, formatReference } from './citation.js';
import { buildTagTree, DocumentIndex, groupByPaper, quoteOrder, type TagNode } from './group.js';
import { type ExportLabels, type ExportLang, defaultExportLang, exportLabels } from './labels.js';
import { type ExportAnnotation, type ExportInput, readerQuote } from './types.js';
import { xmlSafe } from './xml.js';
import { workerMessages, workerScript } from '../workers/prepare.js';
import { zipStream } from './zip.js';

/** `Content-Type` of a Word document. */
export const DOCX_CONTENT_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/** How the Word export arranges and cites the quotes. */
export interface DocxOptions {
  /** Group quotes under their tags (default) or under their paper. */
  groupBy?: 'tag' | 'paper';
  /**
   * The tags that get a heading when grouping by tag (default: all). An export
   * filtered to one tag passes that tag and its sub-tags, so its quotes are
   * not repeated under their other tags (which still show on each quote).
   */
  headingTags?: readonly string[];
  /** Citation style; `auto` (default) cites each paper in the style of its language. */
  style?: CitationStyleOption;
  /** Document title (default: the labels' title). */
  title?: string;
  /** Language of the labels; default: that of most of the quotes' papers. */
  lang?: ExportLang;
}

/** The id (and name) of the paragraph style quotes are set in. */
export const QUOTE_STYLE = 'Quote';
/** Fonts of quotes: a serif for Latin text, SimSun (宋体) for Chinese; never italic. */
const QUOTE_FONT = { ascii: 'Times New Roman', hAnsi: 'Times New Roman', eastAsia: 'SimSun' };

const HEADINGS = [
  HeadingLevel.HEADING_1,
  HeadingLevel.HEADING_2,
  HeadingLevel.HEADING_3,
  HeadingLevel.HEADING_4,
  HeadingLevel.HEADING_5,
  HeadingLevel.HEADING_6,
] as const;

const INDENT = 720; // twips: half an inch

function heading(level: number, text: string): Paragraph {
  return new Paragraph({ heading: HEADINGS[Math.min(6, Math.max(1, level)) - 1], children: [new TextRun(xmlSafe(text))] });
}

/** Runs for multi-line text, a line break between lines. */
function lines(text: string, options: { bold?: boolean } = {}): TextRun[] {
  return xmlSafe(text)
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line, i) => new TextRun({ text: line, break: i > 0 ? 1 : undefined, ...options }));
}

function quoteParagraphs(a: ExportAnnotation, docs: DocumentIndex, style: CitationStyleOption, l: ExportLabels): Paragraph[] {
  const out: Paragraph[] = [];
  if (a.status === 'orphaned') {
    out.push(
      new Paragraph({
        indent: { left: INDENT },
        children: [new TextRun({ text: `⚠ ${l.orphaned}${l.colon}`, bold: true }), new TextRun(l.orphanedHelp)],
      }),
    );
  }
  out.push(new Paragraph({ style: QUOTE_STYLE, children: lines(readerQuote(a)) }));
  if (a.note.trim()) {
    out.push(
      new Paragraph({
        indent: { left: INDENT },
        children: [new TextRun({ text: `${l.note}${l.colon}`, bold: true }), ...lines(a.note.trim())],
      }),
    );
  }
  const citation = formatQuoteCitation(docs.get(a.docId), a.section, style, a.page);
  const tagRuns = a.tags.length ? [new TextRun({ text: ` · ${l.tags}${l.colon}${xmlSafe(a.tags.join('; '))}`, color: '666666' })] : [];
  out.push(
    new Paragraph({
      indent: { left: INDENT },
      spacing: { after: 240 },
      alignment: AlignmentType.LEFT,
      children: [
        new TextRun(`— ${xmlSafe(citation)}`),
        ...tagRuns,
        ...(a.createdBy ? [new TextRun({ text: ` · ${l.codedBy}${l.colon}${xmlSafe(a.createdBy)}`, color: '666666' })] : []),
      ],
    }),
  );
  return out;
}

/** Every paragraph of the document body, in order, made as they are needed. */
function* bodyParagraphs(input: ExportInput, options: DocxOptions): Generator<Paragraph> {
  const style = options.style ?? 'auto';
  const docs = new DocumentIndex(input.documents);
  const annotations = input.annotations;
  const papers = docs.cited(annotations, style);
  const order = quoteOrder(papers);
  const l = exportLabels(options.lang ?? defaultExportLang(annotations, (id) => docs.get(id).lang));
  yield new Paragraph({ heading: HeadingLevel.TITLE, children: [new TextRun(xmlSafe(options.title ?? l.title))] });

  if (annotations.length === 0) {
    yield new Paragraph({ children: [new TextRun({ text: l.noQuotes })] });
  } else if ((options.groupBy ?? 'tag') === 'paper') {
    for (const g of groupByPaper(annotations, papers)) {
      yield heading(2, g.doc.title);
      yield new Paragraph({ children: [new TextRun(xmlSafe(formatReference(g.doc, style)))] });
      for (const a of g.annotations) yield* quoteParagraphs(a, docs, style, l);
    }
  } else {
    const { roots, untagged } = buildTagTree(annotations, order, options.headingTags);
    const visit = function* (n: TagNode): Generator<Paragraph> {
      yield heading(n.depth + 1, n.depth + 1 > 6 ? n.path : n.label);
      for (const a of n.annotations) yield* quoteParagraphs(a, docs, style, l);
      for (const c of n.children) yield* visit(c);
    };
    for (const r of roots) yield* visit(r);
    if (untagged.length > 0) {
      yield heading(2, l.untagged);
      for (const a of untagged) yield* quoteParagraphs(a, docs, style, l);
    }
  }

  if (papers.length > 0) {
    yield heading(2, l.references);
    for (const d of papers) {
      yield new Paragraph({ indent: { left: INDENT, hanging: INDENT }, children: [new TextRun(xmlSafe(formatReference(d, style)))] });
    }
  }
}

function wordDocument(children: Paragraph[], title: string): Document {
  return new Document({
    creator: 'duikou',
    title,
    styles: {
      default: {
        document: { run: { font: { ascii: 'Times New Roman', hAnsi: 'Times New Roman', eastAsia: 'SimSun' }, size: 22 } },
      },
      paragraphStyles: [
        {
          id: QUOTE_STYLE,
          name: QUOTE_STYLE,
          basedOn: 'Normal',
          next: 'Normal',
          quickFormat: true,
          run: { font: QUOTE_FONT, italics: false },
          paragraph: { indent: { left: INDENT, right: INDENT }, spacing: { before: 120, after: 60 } },
        },
      ],
    },
    sections: [{ children }],
  });
}

/**
 * `word/document.xml` of a packed document, split around the body's paragraphs,
 * and the package's files: all of them for the skeleton (`allFiles`), else only
 * document.xml, as a batch needs nothing more and inflating the rest each time is waste.
 */
async function documentXmlParts(
  document: Document,
  allFiles = false,
): Promise<{ files: Record<string, Uint8Array>; head: string; body: string; tail: string }> {
  const files = unzipSync(new Uint8Array(await Packer.toBuffer(document)), { filter: (f) => allFiles || f.name === DOCUMENT_XML });
  const xml = strFromU8(files[DOCUMENT_XML]!);
  const open = xml.indexOf('<w:body>') + '<w:body>'.length;
  const close = xml.lastIndexOf('<w:sectPr');
  if (open < '<w:body>'.length || close < open) throw new Error('docx: unexpected document.xml layout');
  return { files, head: xml.slice(0, open), body: xml.slice(open, close), tail: xml.slice(close) };
}

const DOCUMENT_XML = 'word/document.xml';
/** Paragraphs per batch handed to docx: big enough to be quick, small enough to stay a few MB. */
const BATCH = 200;

/**
 * The Word document (a `.docx` file's bytes) as a stream. docx builds a whole
 * document in memory before packing it — hundreds of MB for 10,000 quotes —
 * so the body is made in batches of paragraphs, each packed by docx on its own,
 * and their paragraphs are streamed into the `document.xml` of one zip whose
 * other parts (styles, properties) come from docx unchanged.
 */
export async function* docxStream(input: ExportInput, options: DocxOptions = {}): AsyncGenerator<Uint8Array> {
  const docs = new DocumentIndex(input.documents);
  const lang = options.lang ?? defaultExportLang(input.annotations, (id) => docs.get(id).lang);
  const title = xmlSafe(options.title ?? exportLabels(lang).title);
  const skeleton = await documentXmlParts(wordDocument([], title), true);
  const paragraphs = bodyParagraphs(input, { ...options, lang });
  const documentXml = async function* (): AsyncGenerator<string> {
    yield skeleton.head;
    let batch: Paragraph[] = [];
    for (let next = paragraphs.next(); ; next = paragraphs.next()) {
      if (!next.done) batch.push(next.value);
      if (batch.length === BATCH || (next.done && batch.length > 0)) {
        yield (await documentXmlParts(wordDocument(batch, title))).body;
        batch = [];
      }
      if (next.done) break;
    }
    yield skeleton.tail;
  };
  yield* zipStream(
    Object.entries(skeleton.files).map(([name, bytes]) => ({ name, content: name === DOCUMENT_XML ? documentXml() : [bytes] })),
  );
}

/**
 * {@link docxStream} in a worker thread with a small heap. docx allocates a
 * great many short-lived objects; in the server's own heap that garbage grew
 * the process by 100–150 MB for 10,000 quotes and held up searches while the
 * file was made. In the worker, a 4 MB young generation and an old generation
 * capped at 32 MB plus room for the annotations it is given keep the whole
 * export to a few tens of MB, and the server stays responsive.
 */
export function docxInWorker(input: ExportInput, options: DocxOptions = {}): AsyncGenerator<Uint8Array> {
  // The papers' texts are not needed for a Word export: leave them out of the copy.
  const documents = input.documents.map(({ text: _text, ...d }) => d);
  let bytes = 0;
  for (const a of input.annotations)
    bytes += 2 * (a.exact.length + (a.quote?.length ?? 0) + a.note.length + a.prefix.length + a.suffix.length) + 600;
  return workerMessages<Uint8Array>(workerScript('./docx-worker', import.meta.url), {
    workerData: { input: { ...input, documents }, options },
    resourceLimits: { maxOldGenerationSizeMb: 16 + Math.ceil((2 * bytes) / 1e6), maxYoungGenerationSizeMb: 4 },
  });
}

/** The Word document's bytes in one Buffer (small exports, tests). */
export async function exportDocx(input: ExportInput, options: DocxOptions = {}): Promise<Buffer> {
  return buffer(docxStream(input, options));
}
