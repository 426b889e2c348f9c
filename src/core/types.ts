/**
 * The data model every stage of duikou shares.
 *
 * One definition of an offset: every offset in duikou — of a passage, a search
 * match, an annotation — is a **UTF-16 code-unit index into the document's
 * canonical text**, i.e. the file decoded (BOM stripped, CRLF → LF) and nothing
 * else changed. That is what `String.prototype.slice` takes in JavaScript, so
 * `text.slice(start, end)` is always the quoted surface form. Formats that count
 * differently (REFI-QDA counts Unicode code points) convert at the border.
 */

/** A UTF-16 code-unit index into a document's canonical text. */
export type Offset = number;

/** A half-open range `[start, end)` of a document's canonical text, in UTF-16 code units. */
export interface Span {
  /** First code unit of the range (inclusive). */
  start: Offset;
  /** One past the last code unit of the range (exclusive). */
  end: Offset;
}

/**
 * A stretch of a document's canonical text: `text` is the document's text
 * from offset `offset` on, so the document's `[start, end)` is
 * `text.slice(start - offset, end - offset)` (for the range the stretch was read for).
 */
export interface TextWindow {
  text: string;
  /** The document offset of `text`'s first code unit. */
  offset: Offset;
}

/**
 * The pages a range of a document stands on, numbered from 1: `first` is the
 * page of its first character, `last` of its last (equal for one page).
 */
export interface PageRange {
  first: number;
  last: number;
}

/** The two languages duikou analyses. */
export type Lang = 'zh' | 'en';

/** What a passage is in the structure of its paper. */
export type PassageKind = 'title' | 'front-matter' | 'heading' | 'paragraph' | 'list-item' | 'table' | 'reference' | 'footnote';

/**
 * Every passage kind, numbered by its place: the one numbering of the engine's
 * per-passage arrays and of the persisted state, whose files hold these numbers,
 * so a kind is only ever appended. The object below fails to compile when a
 * kind is missing.
 */
export const PASSAGE_KINDS = Object.keys({
  paragraph: 0,
  'list-item': 0,
  table: 0,
  footnote: 0,
  heading: 0,
  title: 0,
  'front-matter': 0,
  reference: 0,
} satisfies Record<PassageKind, 0>) as readonly PassageKind[];

/**
 * A passage: the unit of a search hit and of the rendered document.
 *
 * It covers `[start, end)` of its document. A paragraph that a page break cut
 * in two (with a footnote or a running header sitting in the break) is one
 * passage whose `pieces` leave the interloper out; `pieces` is the whole range
 * for an ordinary passage. Pieces are ordered, non-overlapping, and lie inside
 * `[start, end)`, the first starting at `start` and the last ending at `end`.
 */
export interface Passage extends Span {
  /** Numeric id, unique across the corpus (FlexSearch keeps numeric ids). */
  id: number;
  /** The document this passage belongs to. */
  docId: string;
  /** Position of the passage within its document, from 0. */
  ordinal: number;
  kind: PassageKind;
  lang: Lang;
  /** Text of the nearest heading above the passage, or null before the first heading. */
  section: string | null;
  /** The parts of `[start, end)` that belong to the passage's own text. */
  pieces: Span[];
  /** Heading depth for `kind: 'heading'` (1 = top level). */
  level?: number;
}

/** Bibliographic metadata of a document. */
export interface DocumentMeta {
  /** The corpus file name without its extension. */
  id: string;
  title: string;
  authors: string[];
  year: number | null;
  venue: string | null;
  /** Main language of the paper. */
  lang: Lang;
}

/** A document as loaded from the corpus: its metadata and canonical text. */
export interface LoadedDocument extends DocumentMeta {
  /**
   * Canonical text: a .txt/.md file decoded (UTF-8, UTF-16 or GB18030), BOM
   * stripped, CRLF → LF; a PDF, DOCX or HTML file converted once into plain
   * text in the layout conventions the segmenter reads (blank-line paragraphs,
   * `#` headings, `- ` list items, `|` table rows). Conversion is deterministic,
   * so the same file always gives the same text and the same offsets.
   */
  text: string;
  /** SHA-256 (hex) of the canonical text; annotations remember the hash they were made on. */
  hash: string;
  /** Corpus file the text came from, relative to the corpus folder. */
  file: string;
  /**
   * Where each page starts in `text`, for paged formats (PDF): `[offset, page]`
   * pairs sorted by offset, pages numbered from 1. The page of an offset is the
   * last pair at or before it (`pageAt` in `pipeline/import`). Absent for
   * formats without pages.
   */
  pages?: Array<[number, number]>;
}

/** A document together with its passages. */
export interface CorpusDocument extends LoadedDocument {
  passages: Passage[];
}

/**
 * A term produced by the analyzer, with where its surface form stands in the
 * analysed text. `start`/`end` are UTF-16 offsets of that text; `position`
 * counts tokens so that a phrase is a run of adjacent positions.
 */
export interface Token extends Span {
  /** Normalised, segmented, stemmed term as stored in the index. */
  term: string;
  /** Token position; sub-words emitted for recall share their word's position. */
  position: number;
}

/**
 * A quote with its context, as in the W3C Web Annotation TextQuoteSelector:
 * enough to find the passage again after the document text changes.
 */
export interface TextQuote {
  exact: string;
  prefix: string;
  suffix: string;
}

/** One marked stretch of a search hit. */
export interface MatchSpan extends Span {
  /** The glossary term through which a cross-lingual expansion matched, if any. */
  via?: string;
}
