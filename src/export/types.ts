/**
 * The shapes the exporters take: the store's `Annotation` (plus `section`,
 * which the engine fills in), tag definitions, and the corpus's
 * `DocumentMeta` (plus the text, for REFI-QDA). Defined from those types, so
 * a field added to an annotation reaches the exports.
 *
 * Offsets (`start`, `end`) are UTF-16 code units of the document's canonical
 * text, as everywhere in duikou (see `src/core/types.ts`).
 */
import type { DocumentMeta } from '../core/types.js';
import type { Annotation } from '../store/annotations.js';

/**
 * One annotation (highlight + tags + note) as the exporters see it: the
 * store's annotation, with the heading of the passage the quote stands in
 * (for the citation; filled by the engine). `anchorMethod` is any string so
 * a backup from another version still exports.
 */
export type ExportAnnotation = Omit<Annotation, 'anchorMethod'> & {
  anchorMethod: string;
  section?: string | null;
};

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
