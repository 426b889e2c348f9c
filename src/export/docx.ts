/**
 * Word export: the quotes by tag (or by paper) with notes and citations, and a
 * reference list — the same content and order as the Markdown export, built
 * with the `docx` package.
 *
 * Layout: a heading per tag (Heading 2 for a top-level tag, one level deeper
 * per `/`, at most Heading 6), each quote an indented italic paragraph (its
 * line breaks kept), the note, a citation line with the section, and the
 * reference list with hanging indents. Fonts: Times New Roman for Latin text,
 * SimSun (宋体) for Chinese.
 */
import { buffer } from 'node:stream/consumers';
import { AlignmentType, Document, HeadingLevel, Packer, Paragraph, TextRun } from 'docx';
import { strFromU8, unzipSync } from 'fflate';
import { type CitationStyleOption, formatQuoteCitation, formatReference, referenceHeading } from './citation.js';
import { buildTagTree, DocumentIndex, groupByPaper, ORPHANED_LABEL, quoteOrder, type TagNode, UNTAGGED_LABEL } from './group.js';
import type { ExportAnnotation, ExportInput } from './types.js';
import { xmlSafe } from './xml.js';
import { workerMessages, workerScript } from '../parallel.js';
import { zipStream } from './zip.js';

export const DOCX_CONTENT_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

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
  /** Document title. */
  title?: string;
}

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
function lines(text: string, options: { italics?: boolean } = {}): TextRun[] {
  return xmlSafe(text)
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line, i) => new TextRun({ text: line, break: i > 0 ? 1 : undefined, ...options }));
}

function quoteParagraphs(a: ExportAnnotation, docs: DocumentIndex, style: CitationStyleOption): Paragraph[] {
  const out: Paragraph[] = [];
  if (a.status === 'orphaned') {
    out.push(
      new Paragraph({
        indent: { left: INDENT },
        children: [
          new TextRun({ text: `⚠ ${ORPHANED_LABEL}: `, bold: true }),
          new TextRun('this passage was not found in the current text of the paper; the quote is as it was saved.'),
        ],
      }),
    );
  }
  out.push(
    new Paragraph({ indent: { left: INDENT, right: INDENT }, spacing: { before: 120 }, children: lines(a.exact, { italics: true }) }),
  );
  if (a.note.trim()) {
    out.push(
      new Paragraph({
        indent: { left: INDENT },
        children: [new TextRun({ text: 'Note / 笔记: ', bold: true }), ...lines(a.note.trim())],
      }),
    );
  }
  const citation = formatQuoteCitation(docs.get(a.docId), a.section, style);
  const tagRuns = a.tags.length ? [new TextRun({ text: ` · Tags / 标签: ${xmlSafe(a.tags.join('; '))}`, color: '666666' })] : [];
  out.push(
    new Paragraph({
      indent: { left: INDENT },
      spacing: { after: 240 },
      alignment: AlignmentType.LEFT,
      children: [new TextRun(`— ${xmlSafe(citation)}`), ...tagRuns],
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
  yield new Paragraph({ heading: HeadingLevel.TITLE, children: [new TextRun(xmlSafe(options.title ?? 'Quotes / 摘录'))] });

  if (annotations.length === 0) {
    yield new Paragraph({ children: [new TextRun({ text: 'No quotes / 无摘录', italics: true })] });
  } else if ((options.groupBy ?? 'tag') === 'paper') {
    for (const g of groupByPaper(annotations, papers)) {
      yield heading(2, g.doc.title);
      yield new Paragraph({ children: [new TextRun(xmlSafe(formatReference(g.doc, style)))] });
      for (const a of g.annotations) yield* quoteParagraphs(a, docs, style);
    }
  } else {
    const { roots, untagged } = buildTagTree(annotations, order, options.headingTags);
    const visit = function* (n: TagNode): Generator<Paragraph> {
      yield heading(n.depth + 1, n.depth + 1 > 6 ? n.path : n.label);
      for (const a of n.annotations) yield* quoteParagraphs(a, docs, style);
      for (const c of n.children) yield* visit(c);
    };
    for (const r of roots) yield* visit(r);
    if (untagged.length > 0) {
      yield heading(2, UNTAGGED_LABEL);
      for (const a of untagged) yield* quoteParagraphs(a, docs, style);
    }
  }

  if (papers.length > 0) {
    yield heading(2, referenceHeading(papers, style));
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
  const title = xmlSafe(options.title ?? 'Quotes / 摘录');
  const skeleton = await documentXmlParts(wordDocument([], title), true);
  const paragraphs = bodyParagraphs(input, options);
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
  for (const a of input.annotations) bytes += 2 * (a.exact.length + a.note.length + a.prefix.length + a.suffix.length) + 600;
  return workerMessages<Uint8Array>(workerScript('./docx-worker', import.meta.url), {
    workerData: { input: { ...input, documents }, options },
    resourceLimits: { maxOldGenerationSizeMb: 16 + Math.ceil((2 * bytes) / 1e6), maxYoungGenerationSizeMb: 4 },
  });
}

/** The Word document's bytes in one Buffer (small exports, tests). */
export async function exportDocx(input: ExportInput, options: DocxOptions = {}): Promise<Buffer> {
  return buffer(docxStream(input, options));
}
