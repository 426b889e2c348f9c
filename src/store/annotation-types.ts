/**
 * What the annotation stores (SQLite and PostgreSQL) take and return:
 * annotations, tags, their inputs and patches, backups and re-anchoring
 * counts. Offsets are UTF-16 code units into a document's canonical text.
 */
import type { AnchorMethod, AnchorStatus } from './anchor.js';

/**
 * A stored annotation. `start`/`end` are **UTF-16 code-unit offsets into the
 * document's canonical text** (the text whose SHA-256 is `textHash`), so
 * `text.slice(start, end) === exact`. While `status` is `'orphaned'` they are
 * the offsets in the last text the annotation was anchored on.
 */
export interface Annotation {
  /** UUID. */
  id: string;
  docId: string;
  /** First UTF-16 code unit of the annotated range (inclusive). */
  start: number;
  /** One past the last UTF-16 code unit (exclusive). */
  end: number;
  /** The quoted text, `text.slice(start, end)`. */
  exact: string;
  /** Up to 32 UTF-16 code units before the quote (never half a surrogate pair). */
  prefix: string;
  /** Up to 32 UTF-16 code units after the quote. */
  suffix: string;
  note: string;
  /** CSS hex colour, `#rgb` or `#rrggbb`, lowercase. */
  colour: string;
  /** Tag names, sorted case-insensitively. */
  tags: string[];
  /** ISO 8601 timestamps; `updatedAt` moves only on the researcher's edits, not on re-anchoring. */
  createdAt: string;
  updatedAt: string;
  /** SHA-256 (hex) of the document text the annotation was created or last anchored on. */
  textHash: string;
  status: AnchorStatus;
  /** How it was last anchored: 'created' (by the researcher), 'exact'/'quote'/'fuzzy' (re-anchored), 'orphaned'. */
  anchorMethod: AnchorMethod;
  /** The coder who made it (a user name; `owner` before accounts existed). */
  createdBy: string;
  /** The coder who last edited it. */
  updatedBy: string;
  /** For the group's version after discussion: the coders' annotations it was accepted or merged from (empty otherwise). */
  mergedFrom: MergedSource[];
}

/**
 * What sorting, counting, co-occurrence and highlights read of an
 * annotation: where it stands, its colour, tags, coder and dates, and the
 * hash of the text it is anchored on, without its quote, context, note or
 * merge history. A team's thousands of annotations with long notes are
 * megabytes; a page that orders them and shows a hundred reads those hundred
 * in full (`ids` in {@link AnnotationFilter}) and only this of the rest.
 */
export type AnnotationKey = Pick<
  Annotation,
  'id' | 'docId' | 'start' | 'end' | 'colour' | 'tags' | 'createdAt' | 'updatedAt' | 'textHash' | 'status' | 'createdBy'
>;

/** One coder's annotation as the group's version records it. */
export interface MergedSource {
  id: string;
  coder: string;
  start: number;
  end: number;
  exact: string;
  tags: string[];
  note: string;
}

/** A document's canonical text and its SHA-256, as the corpus loader provides them. */
export interface DocText {
  text: string;
  hash: string;
}

/** Input of {@link AnnotationStore.create}. Offsets are UTF-16 code units. */
export interface NewAnnotation {
  docId: string;
  start: number;
  end: number;
  /** The quote the client saw; if given it must equal `text.slice(start, end)` (else 409). */
  exact?: string;
  note?: string;
  colour?: string;
  tags?: string[];
}

/** Changes for {@link AnnotationStore.update}; absent fields are left alone. */
export interface AnnotationPatch {
  note?: string;
  colour?: string;
  /** Replaces the whole tag set. */
  tags?: string[];
  start?: number;
  end?: number;
  exact?: string;
}

/** Filter of {@link AnnotationStore.list}; all given criteria must hold. */
export interface AnnotationFilter {
  docId?: string;
  /** The tag or any of its descendants (`援藏` matches `援藏/教育`). An unknown tag matches nothing. */
  tag?: string;
  /** Case-insensitive substring of the quote or the note. */
  q?: string;
  /** true: only orphaned; false: only anchored; absent: both. */
  orphaned?: boolean;
  /** Who is looking: in the papers of an open round they code, they see only their own annotations. */
  viewer?: string;
  /** Only these annotations (the page of a list ordered from its {@link AnnotationKey}s). */
  ids?: readonly string[];
}

/** A page of a list: skip `offset` entries of its order, then take at most `limit`. */
export interface ListPage {
  offset: number;
  limit: number;
}

/** A tag with how much it is used. */
export interface Tag {
  id: number;
  name: string;
  colour: string | null;
  description: string;
  /** Annotations carrying this very tag. */
  count: number;
  /** Distinct annotations carrying this tag or any descendant. */
  totalCount: number;
}

/** Input of {@link AnnotationStore.createTag}. */
export interface NewTag {
  name: string;
  colour?: string | null;
  description?: string;
}

/** Changes for {@link AnnotationStore.updateTag}: either edits (rename, colour, description) or a merge. */
export interface TagPatch {
  /** Rename; descendants follow (`援藏/教育` → `<new>/教育`). */
  name?: string;
  colour?: string | null;
  description?: string;
  /** Move every annotation (and descendant tag) to this existing tag, then delete this one. */
  mergeInto?: string;
}

/** What {@link AnnotationStore.reanchorDocument} did, by method. */
export interface ReanchorCounts {
  /** Annotations looked at (those not yet on the new hash, and every orphan). */
  checked: number;
  exact: number;
  quote: number;
  fuzzy: number;
  orphaned: number;
}

/** A document the store has seen. */
export interface KnownDocument {
  id: string;
  textHash: string;
  seenAt: string;
  removedAt: string | null;
}

/** An annotation as a backup carries it, for {@link AnnotationStore.restore}. */
export type RestorableAnnotation = Omit<Annotation, 'tags' | 'createdBy' | 'updatedBy' | 'mergedFrom'> & {
  mergedFrom?: readonly MergedSource[];
  tags: readonly string[];
  /** Absent in backups made before accounts: the implicit owner. */
  createdBy?: string;
  updatedBy?: string;
};

/** A tag definition as a backup carries it. */
export interface RestorableTag {
  name: string;
  colour: string | null;
  description: string;
}
