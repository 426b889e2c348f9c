/**
 * Load stage: a paper file → a document with canonical text and metadata.
 *
 * Metadata is read from the paper's own front matter where that can be done
 * safely, then overridden field by field from `duikou.metadata.json` in the
 * corpus folder, which the researcher keeps (PDF extraction loses too much to
 * rely on detection alone).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { UserInputError } from '../core/errors.js';
import type { DocumentMeta, LoadedDocument } from '../core/types.js';
import { IMPORT_EXTENSIONS, type ImportLimits, type ImportResult, MAX_FILE_BYTES, importFile } from './import/index.js';
import { decodeBytes } from './import/encoding.js';
import { detectLang } from './lang.js';
import { type MetadataOverride, type MetadataOverrides, overrideFor } from './metadata-file.js';
import { joinPieces, segment } from './segment.js';

// The metadata file's rules and reader live in their own module; re-exported for the loader's users.
export {
  METADATA_FILE,
  type MetadataOverride,
  type MetadataOverrides,
  metadataEntrySchema,
  overrideFor,
  readMetadataOverrides,
} from './metadata-file.js';

/**
 * Canonical text of a text file: decoded from UTF-8 (with or without a BOM),
 * UTF-16 LE/BE with a BOM, or GB18030/GBK (tried when the bytes are not valid
 * UTF-8), the byte-order mark stripped and CRLF turned into LF, nothing else.
 * Bytes no encoding accepts become U+FFFD rather than failing.
 */
export function decodeText(buf: Uint8Array): string {
  return decodeBytes(buf).text;
}

/**
 * The paper files of a corpus folder, sorted: `.txt`, `.md`, `.markdown`,
 * `.html`, `.htm`, `.docx` and `.pdf`, without hidden files, Office lock files
 * (`~$…`) and duikou's own `duikou.*` data files kept alongside. Folders (even
 * one named like a paper, `x.txt/`) and links are not papers.
 */
export async function listCorpusFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && !e.name.startsWith('~$') && !e.name.startsWith('duikou.'))
    .map((e) => e.name)
    .filter((name) => IMPORT_EXTENSIONS.has(extname(name).toLowerCase()))
    .sort();
}

const MARKS = /\^\{[^{}]*\}|<sup>[^<]*<\/sup>|[\u00B9\u00B2\u00B3\u2070-\u2079]|\\?\*/gu;
const AFFILIATION = /universit|college|school|institute|department|academy|brief|no\.|@|date|大学|学院|研究所|研究院|中心/i;
const DATE_LINE = /date of publication|published|publication date|出版日期|发表日期/i;
const DOI_YEAR = /\b10\.\d{4,9}\/[^\s]*?[./-]((?:19|20)\d\d)[./-]/;

/**
 * Metadata read from the text: the title passage, the first byline of the
 * front matter, and a year only where the front matter states it (a date of
 * publication, or a year embedded in the paper's own DOI); years in the body
 * or the references are never taken, so the year is often null.
 */
export function detectMetadata(id: string, text: string): DocumentMeta {
  const lang = detectLang(text);
  const passages = segment(id, text, lang);
  const clean = (s: string): string => s.replace(MARKS, '').replace(/\s+/gu, ' ').trim();
  const titlePassage = passages.find((p) => p.kind === 'title');
  const title = titlePassage
    ? titlePassage.pieces.map((p) => clean(text.slice(p.start, p.end)).replace(/^(?:--|—|–|:)\s*/u, '')).join(': ')
    : id;
  const front = passages.filter((p) => p.kind === 'front-matter').map((p) => joinPieces(text, p.pieces).text);
  let authors: string[] = [];
  const byline = front.find((f) => !AFFILIATION.test(f) && !/[:：]/u.test(f));
  if (byline) {
    const names = clean(byline)
      .split(/\s*(?:,|，|、|;|；|&|\band\b)\s*/u)
      .filter((n) => n.length > 0);
    if (names.length <= 12 && names.every((n) => n.length <= 40)) authors = names;
  }
  let year: number | null = null;
  for (const f of front) {
    const m = DATE_LINE.test(f) ? /\b(?:19|20)\d\d\b/.exec(f) : DOI_YEAR.exec(f);
    const y = m ? Number(m[1] ?? m[0]) : Number.NaN;
    if (y >= 1900 && y <= new Date().getFullYear() + 1) {
      year = y;
      break;
    }
  }
  return { id, title, authors, year, venue: null, lang };
}

/** Applies the override entry field by field. */
function applyOverride(meta: DocumentMeta, o: MetadataOverride | undefined): DocumentMeta {
  if (!o) return meta;
  return {
    ...meta,
    ...(o.title !== undefined && { title: o.title }),
    ...(o.authors !== undefined && { authors: o.authors }),
    ...(o.year !== undefined && { year: o.year }),
    ...(o.venue !== undefined && { venue: o.venue }),
    ...(o.lang !== undefined && { lang: o.lang }),
  };
}

/**
 * The bytes of a corpus file, refused when over the size limit.
 * @throws UserInputError `file_too_large` or `unreadable_file`, naming the file
 */
export async function readPaperBytes(path: string, file: string): Promise<Buffer> {
  try {
    const { size } = await stat(path);
    if (size > MAX_FILE_BYTES) {
      throw new UserInputError(
        'file_too_large',
        `${file} is ${Math.round(size / 1024 / 1024)} MB; duikou imports files up to ${MAX_FILE_BYTES / 1024 / 1024} MB (文件过大)`,
      );
    }
    return await readFile(path);
  } catch (err) {
    if (err instanceof UserInputError) throw err;
    throw new UserInputError('unreadable_file', `${file} cannot be read: ${(err as Error).message} (无法读取该文件)`);
  }
}

/**
 * A paper from its converted text: hashed, its metadata detected and then
 * overridden from `duikou.metadata.json`.
 * @param file - the corpus file name; the id is the name without its extension
 */
export function documentFromImport(file: string, imported: ImportResult, overrides: MetadataOverrides): LoadedDocument {
  const { text, pages } = imported;
  const id = file.slice(0, file.length - extname(file).length);
  const hash = createHash('sha256').update(text, 'utf8').digest('hex');
  const meta = applyOverride(detectMetadata(id, text), overrideFor(overrides, id));
  return pages ? { ...meta, text, hash, file, pages } : { ...meta, text, hash, file };
}

/**
 * Loads one paper in this thread: converts it to canonical text (see
 * `import/`), hashes that, and reads its metadata (detected, then
 * overridden). PDFs also get their page map. Files that may be hostile are
 * loaded through `src/workers/contained.ts`, which runs this in a worker with limits.
 * @param file - file name inside `dir`; the id is the name without its extension
 * @param limits - what the file may cost (zip size, PDF pages …); the defaults when absent
 * @throws UserInputError naming the file when it is too large, damaged, encrypted,
 *   a PDF without a text layer, over a limit, or otherwise unreadable
 */
export async function loadDocument(
  dir: string,
  file: string,
  overrides: MetadataOverrides,
  limits?: ImportLimits,
): Promise<LoadedDocument> {
  const bytes = await readPaperBytes(join(dir, file), file);
  return documentFromImport(file, await importFile(bytes, file, limits), overrides);
}

/** A file of the corpus that could not be loaded, and why. */
export interface LoadError {
  /** File name inside the corpus folder. */
  file: string;
  /** What went wrong, naming the file (English, with Chinese). */
  message: string;
  /** The UserInputError's code (`unreadable_file`, `no_text_layer`, `duplicate_id` …), or `internal` for a bug. */
  code: string;
}
