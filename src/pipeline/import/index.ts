/**
 * Importers by file extension: each format is converted once into canonical
 * text (the layout conventions `segment.ts` reads), which is then stored as
 * the document's text, so offsets stay stable and annotations anchor to it.
 */
import { extname } from 'node:path';
import { UserInputError } from '../../core/errors.js';
import { importDocx } from './docx.js';
import { importHtml } from './html.js';
import { importPdf } from './pdf.js';
import { importText } from './text.js';
import type { ImportLimits } from './limits.js';
import type { ImportResult, Importer } from './types.js';

export { pageAt } from './canonical.js';
export { decodeBytes, detectEncoding } from './encoding.js';
export { htmlToCanonical } from './html.js';
export type { ImportResult, Importer, PageMap } from './types.js';
export { DEFAULT_IMPORT_LIMITS, type ImportLimits, importLimitsFromSettings } from './limits.js';

/** The importer of each extension (lower case, with the dot). */
export const IMPORTERS: Readonly<Record<string, Importer>> = {
  '.txt': importText,
  '.md': importText,
  '.markdown': importText,
  '.html': importHtml,
  '.htm': importHtml,
  '.docx': importDocx,
  '.pdf': importPdf,
};

/** Extensions duikou imports, lower case with the dot. */
export const IMPORT_EXTENSIONS: ReadonlySet<string> = new Set(Object.keys(IMPORTERS));

/** Largest file duikou imports, in bytes (200 MB). */
export const MAX_FILE_BYTES = 200 * 1024 * 1024;

/**
 * Converts a file's bytes into canonical text by the file's extension.
 * The same bytes always give the same text.
 * @param file - the file's name (its extension picks the importer; it names the file in errors)
 * @param limits - what the file may cost; the defaults when absent
 * @throws UserInputError `unsupported_format`, `file_too_large`, `unreadable_file`, `import_too_large` or
 *   `no_text_layer`, naming the file
 */
export async function importFile(bytes: Uint8Array, file: string, limits?: ImportLimits): Promise<ImportResult> {
  const ext = extname(file).toLowerCase();
  const importer = IMPORTERS[ext];
  if (!importer) {
    throw new UserInputError(
      'unsupported_format',
      `${file}: duikou cannot import ${ext || 'files without an extension'}; it reads ${[...IMPORT_EXTENSIONS].join(', ')} (不支持的文件格式)`,
    );
  }
  if (bytes.byteLength > MAX_FILE_BYTES) {
    throw new UserInputError(
      'file_too_large',
      `${file} is ${Math.round(bytes.byteLength / 1024 / 1024)} MB; duikou imports files up to ${MAX_FILE_BYTES / 1024 / 1024} MB (文件过大)`,
    );
  }
  return importer(bytes, file, limits);
}
