/**
 * The shapes the exporters take. They are structural on purpose: the store's
 * `Annotation` and tag rows, and the corpus's `DocumentMeta`, fit them as they
 * are (plus `section`, which the engine fills in), so `src/export/` depends on
 * nothing but `src/core/`.
 *
 * Offsets (`start`, `end`) are UTF-16 code units of the document's canonical
 * text, as everywhere in duikou (see `src/core/types.ts`).
 */
import type { Lang } from '../core/types.js';

/** One annotation (highlight + tags + note) as the exporters see it. */
export interface ExportAnnotation {
  /** UUID. */
  id: string;
  docId: string;
  /** UTF-16 code-unit offset into the document's canonical text (inclusive). */
  start: number;
  /** UTF-16 code-unit offset (exclusive). */
  end: number;
  /** The quoted text; for an anchored annotation `text.slice(start, end) === exact`. */
  exact: string;
  prefix: string;
  suffix: string;
  note: string;
  /** CSS hex colour, `#rgb` or `#rrggbb`. */
  colour: string;
  /** Tag names; hierarchical tags use `/` (`援藏/教育`). */
  tags: string[];
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601. */
  updatedAt: string;
  /** SHA-256 of the document text the annotation was (re)anchored on. */
  textHash: string;
  status: 'anchored' | 'orphaned';
  anchorMethod: string;
  /** Heading of the passage the quote stands in, for the citation; filled by the engine. */
  section?: string | null;
}

/** A tag definition. */
export interface ExportTag {
  name: string;
  /** CSS hex colour (`#rgb` or `#rrggbb`), or null when the tag has none. */
  colour: string | null;
  description: string;
}

/** Bibliographic metadata of a document, and its canonical text where a format needs it (REFI-QDA). */
export interface ExportDocument {
  id: string;
  title: string;
  authors: string[];
  year: number | null;
  venue: string | null;
  lang: Lang;
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
