/**
 * DOCX → canonical text: mammoth turns the document into HTML by its styles
 * (Heading 1–6 → `<h1>`–`<h6>`, Word lists → `<ul>`/`<ol>`, tables), and the
 * HTML importer writes that as canonical text. Images are left out; footnotes
 * and endnotes come at the end as a list.
 */
import { UserInputError } from '../../core/errors.js';
import { htmlToCanonical } from './html.js';
import { DEFAULT_IMPORT_LIMITS, type ImportLimits } from './limits.js';
import type { ImportResult } from './types.js';
import { checkZip } from './zip.js';

/** Styles beyond mammoth's defaults: a document's Title and Subtitle are headings too. */
const STYLE_MAP = [
  "p[style-name='Title'] => h1:fresh",
  "p[style-name='title'] => h1:fresh",
  "p[style-name='Subtitle'] => h2:fresh",
  "p[style-name='标题'] => h1:fresh",
  "p[style-name='副标题'] => h2:fresh",
];

/** The `.docx` importer: the zip is checked against the limits before mammoth reads it. */
export async function importDocx(bytes: Uint8Array, file: string, limits: ImportLimits = DEFAULT_IMPORT_LIMITS): Promise<ImportResult> {
  // Entry count and unpacked size first: mammoth unpacks whatever the file asks for.
  await checkZip(bytes, file, limits);
  const { default: mammoth } = await import('mammoth');
  let html: string;
  try {
    const result = await mammoth.convertToHtml(
      { buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) },
      { styleMap: STYLE_MAP, externalFileAccess: false, convertImage: mammoth.images.imgElement(async () => ({ src: '' })) },
    );
    html = result.value;
  } catch (err) {
    throw new UserInputError(
      'unreadable_file',
      `${file} is not a readable Word (.docx) file: ${(err as Error).message} (无法读取该 Word 文件)`,
    );
  }
  // The "↑" links back from each note to its reference.
  html = html.replace(/<a href="#(?:footnote|endnote)-ref-[^"]*">[^<]*<\/a>/g, '');
  return { text: htmlToCanonical(html) };
}
