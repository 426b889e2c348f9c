/**
 * The shapes the exporters take: the store's `Annotation` (plus `section`,
 * which the engine fills in), tag definitions, and the corpus's
 * `DocumentMeta` (plus the text, for REFI-QDA). Defined from those types, so
 * a field added to an annotation reaches the exports.
 *
 * Offsets (`start`, `end`) are UTF-16 code units of the document's canonical
 * text, as everywhere in duikou (see `src/core/types.ts`).
 */
import type { DocumentMeta, PageRange } from '../core/types.js';
import type { Annotation } from '../store/annotation-types.js';

/**
 * One annotation (highlight + tags + note) as the exporters see it: the
 * store's annotation, with what the engine knows of where it stands (filled in
 * by the export service): the heading of its passage and its pages, for the
 * citation, and the quote as a reader sees it. `anchorMethod` is any string so
 * a backup from another version still exports.
 */
export type ExportAnnotation = Omit<Annotation, 'anchorMethod' | 'createdBy' | 'updatedBy' | 'mergedFrom'> & {
  /** The coders' annotations the group's version was made from (absent or empty for a coder's own). */
  mergedFrom?: Annotation['mergedFrom'];
  anchorMethod: string;
  section?: string | null;
  /** The pages the quote stands on; null or absent when the paper has no page information. */
  page?: PageRange | null;
  /**
   * The quote as one piece of reading: `exact` with the footnote or running
   * header of a page-break join it crosses left out (see `pipeline/quote.ts`).
   * Absent when it is `exact`.
   */
  quote?: string;
  /** The coder who made it; absent means the implicit owner (annotations made before accounts). */
  createdBy?: string;
  /** The coder who last edited it. */
  updatedBy?: string;
};

/** The quote a reader sees: the whole quote when the engine made one, else the stored `exact`. */
export function readerQuote(a: Pick<ExportAnnotation, 'exact' | 'quote'>): string {
  return a.quote ?? a.exact;
}

/** A tag definition. */
export interface ExportTag {
  name: string;
  /** CSS hex colour (`#rgb` or `#rrggbb`), or null when the tag has none. */
  colour: string | null;
  description: string;
}

/** Bibliographic metadata of a document, and its canonical text where a format needs it (REFI-QDA). */
export interface ExportDocument extends DocumentMeta {
  /** Canonical text (BOM stripped, CRLF → LF); required by the REFI-QDA export only. */
  text?: string;
}

/** What the whole-collection exporters (Markdown, Word, REFI-QDA, backup) take. */
export interface ExportInput {
  annotations: readonly ExportAnnotation[];
  /**
   * The documents the annotations refer to. Markdown, Word and the backup use
   * only those cited; REFI-QDA makes every document given (with its `text`)
   * a source, so pass the ones the researcher wants in their QDA project.
   */
  documents: readonly ExportDocument[];
  /** Tag definitions (colour, description); tags used but not defined here still export. */
  tags?: readonly ExportTag[];
}
