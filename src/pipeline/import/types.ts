import type { ImportLimits } from './limits.js';

/**
 * What every importer returns: the document's canonical text, and for paged
 * formats where each page starts in it.
 */

/**
 * Where pages start in the canonical text: `[offset, pageNumber]` pairs sorted
 * by offset, page numbers from 1. A page without text shares the offset of the
 * next text, so the last pair at or before an offset names its page.
 */
export type PageMap = Array<[number, number]>;

/** An importer's result. */
export interface ImportResult {
  /**
   * Canonical text in the layout conventions `segment.ts` reads: paragraphs
   * separated by blank lines, `#` headings, `- ` list items, `|` table rows.
   * LF line ends, no BOM. The same bytes always give the same text.
   */
  text: string;
  /** Page starts, for formats that have pages (PDF). */
  pages?: PageMap;
}

/**
 * Converts one file's bytes into canonical text.
 * @param file - the file's name, for error messages
 * @param limits - what the file may cost (zip size, PDF pages …); the defaults when absent
 * @throws UserInputError naming the file when it cannot be read or is over a limit
 */
export type Importer = (bytes: Uint8Array, file: string, limits?: ImportLimits) => Promise<ImportResult>;
