/**
 * REFI-QDA project export (`.qdpx`), the exchange format of NVivo, ATLAS.ti,
 * MAXQDA, QualCoder and others: a zip holding `project.qde` (XML in the
 * namespace `urn:QDA-XML:project:1.0`, schema Project-mrt2019.xsd) and each
 * document's text as `sources/<guid>.txt`.
 *
 * - Tags become the code book; the `/` hierarchy becomes nested `Code`s
 *   (`援藏/教育` → `Code 援藏` ⊃ `Code 教育`), every code codable, with the tag's
 *   colour and description where a definition exists.
 * - Each document given becomes a `TextSource` whose `plainTextPath` is
 *   `internal://<guid>.txt`; that file is the document's canonical text,
 *   byte for byte as UTF-8 (no BOM). Its `Description` is the reference.
 * - Each anchored annotation becomes a `PlainTextSelection` with a `Coding`
 *   per tag, and the note and the page (`Page: 12`; the schema has no page
 *   attribute) as its `Description`. **Positions are Unicode code
 *   points** (the REFI-QDA text standard counts characters as code points);
 *   duikou's UTF-16 offsets are converted with {@link codePointConverter}.
 * - An annotation that cannot be placed — orphaned, its document missing or
 *   without text, or its stored quote no longer at its offsets — is not
 *   dropped: it becomes a project `Note` (quote, note, tags) referenced from
 *   its source (or from the project when the source is missing).
 * - GUIDs are deterministic, so exporting the same project twice gives the same
 *   ids and QDA software can recognise what it already imported: an
 *   annotation's selection keeps the annotation's UUID; every other GUID is a
 *   name-based (version 5, SHA-1) UUID in a duikou namespace, in the canonical
 *   8-4-4-4-12 form the schema's pattern requires.
 */
import { createHash } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { type ZipEntry, zipStream } from './zip.js';
import { pageLabel } from '../pipeline/pages.js';
import { type CitationStyleOption, formatQuoteCitation, formatReference } from './citation.js';
import { DocumentIndex, tagPath } from './group.js';
import { type ExportLang, defaultExportLang, exportLabels } from './labels.js';
import { type ExportAnnotation, type ExportDocument, type ExportInput, type ExportTag, readerQuote } from './types.js';
import { xmlAttr, xmlText } from './xml.js';

/** XML namespace of a REFI-QDA project file (`project.qde`). */
export const QDE_NAMESPACE = 'urn:QDA-XML:project:1.0';
/** `Content-Type` of a REFI-QDA project (`.qdpx`, a zip archive). */
export const QDPX_CONTENT_TYPE = 'application/zip';

/** Namespace of duikou's name-based GUIDs (a fixed random UUID). */
const DUIKOU_GUID_NAMESPACE = '6b1f3c2e-8d4a-4e57-9a0b-2c7d5e1f9a34';
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A deterministic RFC 4122 version-5 UUID for `name` (lower-case, 8-4-4-4-12). */
export function guidFrom(name: string): string {
  const ns = Buffer.from(DUIKOU_GUID_NAMESPACE.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * A converter from UTF-16 offsets of `text` to code-point offsets, O(log n)
 * per call after one pass over the text. Throws a RangeError for an offset
 * outside `[0, text.length]` or inside a surrogate pair.
 */
export function codePointConverter(text: string): (utf16Offset: number) => number {
  // UTF-16 index of the low surrogate of every pair, ascending.
  const lows: number[] = [];
  for (let i = 0; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) lows.push(++i);
    }
  }
  return (offset) => {
    if (!Number.isInteger(offset) || offset < 0 || offset > text.length) {
      throw new RangeError(`offset ${offset} is outside the text (0…${text.length})`);
    }
    // number of low surrogates strictly before `offset`
    let lo = 0;
    let hi = lows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (lows[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    if (lows[lo] === offset) throw new RangeError(`offset ${offset} splits a surrogate pair`);
    return offset - lo;
  };
}

/** The code-point offset of a UTF-16 offset of `text` (see {@link codePointConverter} for many). */
export function toCodePointOffset(text: string, utf16Offset: number): number {
  return codePointConverter(text)(utf16Offset);
}

/** What a REFI-QDA project is named, attributed to and dated, and how its sources are cited. */
export interface RefiQdaOptions {
  /** Project name (required by the schema). */
  projectName?: string;
  /** The user the project and its codings are attributed to. */
  userName?: string;
  /** Citation style of the sources' descriptions and orphan notes. */
  style?: CitationStyleOption;
  /** Creation time of the project (default: now). */
  now?: Date;
  /** Language of the labels in descriptions and notes; default: that of most of the quotes' papers. */
  lang?: ExportLang;
}

/** xs:dateTime of an ISO string, or undefined if it is not a date. */
function dateTime(iso: string): string | undefined {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** ` name="value"` for each defined value. */
function attrs(pairs: Record<string, string | number | boolean | undefined>): string {
  return Object.entries(pairs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`)
    .join('');
}

interface CodeNode {
  label: string;
  path: string;
  guid: string;
  def?: ExportTag;
  children: CodeNode[];
}

const collator = new Intl.Collator('zh-Hans-CN-u-co-pinyin', { numeric: true });

function buildCodeTree(
  annotations: readonly ExportAnnotation[],
  tags: readonly ExportTag[],
): { roots: CodeNode[]; byPath: Map<string, CodeNode> } {
  const byPath = new Map<string, CodeNode>();
  const roots: CodeNode[] = [];
  const defs = new Map(tags.map((t) => [tagPath(t.name).join('/'), t]));
  const add = (segments: string[]): void => {
    let siblings = roots;
    for (let i = 0; i < segments.length; i++) {
      const path = segments.slice(0, i + 1).join('/');
      let n = byPath.get(path);
      if (!n) {
        n = { label: segments[i]!, path, guid: guidFrom(`code:${path}`), def: defs.get(path), children: [] };
        byPath.set(path, n);
        siblings.push(n);
      }
      siblings = n.children;
    }
  };
  for (const t of tags) add(tagPath(t.name));
  for (const a of annotations) for (const t of a.tags) add(tagPath(t));
  const sort = (ns: CodeNode[]): void => {
    ns.sort((x, y) => collator.compare(x.label, y.label));
    for (const n of ns) sort(n.children);
  };
  sort(roots);
  return { roots: roots.filter((r) => r.label !== ''), byPath };
}

function codeXml(n: CodeNode, indent: string): string {
  const colour = n.def?.colour && /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(n.def.colour) ? n.def.colour : undefined;
  const inner: string[] = [];
  if (n.def?.description) inner.push(`${indent}  <Description>${xmlText(n.def.description)}</Description>`);
  for (const c of n.children) inner.push(codeXml(c, `${indent}  `));
  const open = `${indent}<Code${attrs({ guid: n.guid, name: n.label, isCodable: true, color: colour })}`;
  return inner.length ? `${open}>\n${inner.join('\n')}\n${indent}</Code>` : `${open}/>`;
}

/** The first `n` code points of `s`, with `…` if cut, on one line. */
function shorten(s: string, n: number): string {
  const cps = [...s.replace(/\s+/g, ' ').trim()];
  return cps.length > n ? `${cps.slice(0, n).join('')}…` : cps.join('');
}

/** What the project file and the zip are built from (exposed for tests). */
export interface RefiQdaProject {
  /** `project.qde`. */
  xml: string;
  /** Zip path (`sources/<guid>.txt`) → document text. */
  sources: Map<string, string>;
}

/**
 * `project.qde` in pieces (each ending with a newline, one per source and per
 * selection), filling `sources` with the texts the zip must hold next to it.
 */
function* projectChunks(input: ExportInput, options: RefiQdaOptions, sources: Map<string, string>): Generator<string> {
  const style = options.style ?? 'auto';
  const userName = options.userName ?? 'duikou';
  const user = guidFrom(`user:${userName}`);
  const coderOf = (a: ExportAnnotation) => guidFrom(`user:${a.createdBy ?? userName}`);
  const now = (options.now ?? new Date()).toISOString();
  const tags = input.tags ?? [];
  const { roots, byPath } = buildCodeTree(input.annotations, tags);
  const docs = new Map(input.documents.map((d) => [d.id, d]));
  const index = new DocumentIndex(input.documents);
  const l = exportLabels(options.lang ?? defaultExportLang(input.annotations, (id) => index.get(id).lang));

  // Place each annotation, or make it a note.
  const placed = new Map<string, { a: ExportAnnotation; start: number; end: number }[]>();
  const notes: { a: ExportAnnotation; guid: string; reason: string }[] = [];
  const converters = new Map<string, (o: number) => number>();
  for (const a of input.annotations) {
    const doc = docs.get(a.docId);
    let reason: string | undefined;
    if (a.status === 'orphaned') reason = l.unplacedOrphaned;
    else if (!doc || doc.text === undefined) reason = l.unplacedMissing;
    else if (a.start < 0 || a.end > doc.text.length || a.start >= a.end || doc.text.slice(a.start, a.end) !== a.exact) {
      reason = l.unplacedChanged;
    }
    if (reason || !doc?.text) {
      notes.push({ a, guid: guidFrom(`note:${a.id}`), reason: reason ?? '' });
      continue;
    }
    let conv = converters.get(doc.id);
    if (!conv) {
      conv = codePointConverter(doc.text);
      converters.set(doc.id, conv);
    }
    const list = placed.get(doc.id) ?? [];
    list.push({ a, start: conv(a.start), end: conv(a.end) });
    placed.set(doc.id, list);
  }

  let lines: string[] = ['<?xml version="1.0" encoding="utf-8"?>'];
  const flush = (): string => {
    const chunk = `${lines.join('\n')}\n`;
    lines = [];
    return chunk;
  };
  lines.push(
    `<Project${attrs({
      xmlns: QDE_NAMESPACE,
      name: options.projectName ?? 'duikou',
      origin: 'duikou',
      creatingUserGUID: user,
      creationDateTime: now,
    })}>`,
  );
  // Every coder is a User; each selection and coding names the coder who made it (and who last changed it).
  const coderNames = [
    ...new Set([userName, ...input.annotations.flatMap((a) => [a.createdBy ?? userName, a.updatedBy ?? a.createdBy ?? userName])]),
  ];
  lines.push('  <Users>', ...coderNames.map((n) => `    <User${attrs({ guid: guidFrom(`user:${n}`), name: n })}/>`), '  </Users>');
  if (roots.length > 0) {
    lines.push('  <CodeBook>', '    <Codes>');
    for (const r of roots) lines.push(codeXml(r, '      '));
    lines.push('    </Codes>', '  </CodeBook>');
  }

  const sourceGuid = (docId: string) => guidFrom(`source:${docId}`);
  const textDocs = input.documents.filter((d): d is ExportDocument & { text: string } => d.text !== undefined);
  if (textDocs.length > 0) {
    lines.push('  <Sources>');
    for (const doc of textDocs) {
      const guid = sourceGuid(doc.id);
      sources.set(`sources/${guid}.txt`, doc.text);
      lines.push(
        `    <TextSource${attrs({
          guid,
          name: doc.title || doc.id,
          plainTextPath: `internal://${guid}.txt`,
          creatingUser: user,
          creationDateTime: now,
        })}>`,
      );
      lines.push(`      <Description>${xmlText(formatReference(doc, style))}</Description>`);
      const sels = (placed.get(doc.id) ?? []).sort((x, y) => x.start - y.start || x.end - y.end);
      for (const { a, start, end } of sels) {
        const selGuid = UUID.test(a.id) ? a.id.toLowerCase() : guidFrom(`selection:${a.id}`);
        lines.push(
          `      <PlainTextSelection${attrs({
            guid: selGuid,
            name: shorten(readerQuote(a), 60),
            startPosition: start,
            endPosition: end,
            creatingUser: coderOf(a),
            creationDateTime: dateTime(a.createdAt),
            modifyingUser: guidFrom(`user:${a.updatedBy ?? a.createdBy ?? userName}`),
            modifiedDateTime: dateTime(a.updatedAt),
          })}>`,
        );
        // The schema gives a selection no page attribute: the page goes in its description, after the note.
        const page = a.page ? `${l.page}${l.colon}${pageLabel(a.page)}` : '';
        const description = [a.note, page].filter(Boolean).join('\n\n');
        if (description) lines.push(`        <Description>${xmlText(description)}</Description>`);
        for (const path of new Set(a.tags.map((t) => tagPath(t).join('/')).filter(Boolean))) {
          const code = byPath.get(path)!;
          lines.push(
            `        <Coding${attrs({ guid: guidFrom(`coding:${a.id}:${path}`), creatingUser: coderOf(a), creationDateTime: dateTime(a.createdAt) })}>`,
            `          <CodeRef${attrs({ targetGUID: code.guid })}/>`,
            '        </Coding>',
          );
        }
        lines.push('      </PlainTextSelection>');
        yield flush();
      }
      for (const n of notes) if (n.a.docId === doc.id) lines.push(`      <NoteRef${attrs({ targetGUID: n.guid })}/>`);
      lines.push('    </TextSource>');
    }
    lines.push('  </Sources>');
  }

  if (notes.length > 0) {
    lines.push('  <Notes>');
    for (const { a, guid, reason } of notes) {
      const doc = docs.get(a.docId) ?? { id: a.docId, title: a.docId, authors: [], year: null, venue: null, lang: 'en' as const };
      const content = [
        `“${readerQuote(a)}”`,
        `— ${formatQuoteCitation(doc, a.section, style, a.page)}`,
        a.tags.length ? `${l.tags}${l.colon}${a.tags.join('; ')}` : '',
        a.note ? `${l.note}${l.colon}${a.note}` : '',
        `(${l.unplacedBecause.replace('{reason}', reason)})`,
      ].filter(Boolean);
      lines.push(
        `    <Note${attrs({ guid, name: `${l.unplaced}${l.colon}${shorten(readerQuote(a), 40)}`, creatingUser: user, creationDateTime: dateTime(a.createdAt) })}>`,
        `      <PlainTextContent>${xmlText(content.join('\n'))}</PlainTextContent>`,
        '    </Note>',
      );
    }
    lines.push('  </Notes>');
  }
  const sourceIds = new Set(textDocs.map((d) => d.id));
  for (const n of notes) if (!sourceIds.has(n.a.docId)) lines.push(`  <NoteRef${attrs({ targetGUID: n.guid })}/>`);
  lines.push('</Project>');
  yield flush();
}

/** Build `project.qde` and the source texts. */
export function buildRefiQdaProject(input: ExportInput, options: RefiQdaOptions = {}): RefiQdaProject {
  const sources = new Map<string, string>();
  const xml = [...projectChunks(input, options, sources)].join('');
  return { xml, sources };
}

/**
 * The `.qdpx` file: a zip of `project.qde` and `sources/<guid>.txt`. Every
 * document given with its `text` becomes a source (pass the documents the
 * researcher wants to keep coding in their QDA tool).
 */
export function refiQdaStream(input: ExportInput, options: RefiQdaOptions = {}): AsyncGenerator<Uint8Array> {
  const sources = new Map<string, string>();
  // The sources are known once project.qde has been written, so they follow it in the zip.
  const entries = function* (): Generator<ZipEntry> {
    yield { name: 'project.qde', content: projectChunks(input, options, sources) };
    for (const [name, text] of sources) yield { name, content: [text] };
  };
  return zipStream(entries());
}

/** The `.qdpx` file's bytes in one Buffer (small exports, tests). */
export async function exportRefiQda(input: ExportInput, options: RefiQdaOptions = {}): Promise<Buffer> {
  return buffer(refiQdaStream(input, options));
}
