/**
 * The two sides of duikou's storage, as interfaces with an embedded
 * implementation (FlexSearch-style in-memory index + SQLite, the default) and
 * a PostgreSQL one (the lab-server mode, chosen by `DUIKOU_DATABASE_URL`).
 *
 * Both interfaces are asynchronous: PostgreSQL answers over a socket, and the
 * embedded implementations simply return settled promises around today's
 * synchronous code, so callers written against the interface work with both.
 */
import type { CorpusDocument } from '../core/types.js';
import type { PreparedDocument, SearchOptions, SearchResult } from '../engine.js';
import type { ParsedQuery } from '../pipeline/query.js';
import type {
  Annotation,
  AnnotationFilter,
  AnnotationPatch,
  DocText,
  KnownDocument,
  NewAnnotation,
  NewTag,
  ReanchorCounts,
  RestorableAnnotation,
  RestorableTag,
  Tag,
  TagPatch,
} from '../store/annotations.js';

/** Which implementation serves a library. */
export type BackendKind = 'embedded' | 'postgres';

/**
 * Annotations, the tag vocabulary and the documents the store has seen.
 * Behaviour (validation, errors, ordering) is that of `AnnotationStore`'s
 * methods of the same names; every write is one transaction, all or nothing.
 */
export interface AnnotationBackend {
  readonly kind: BackendKind;
  /** `by`: the coder (a user name; the implicit owner when absent). */
  create(input: NewAnnotation, doc: DocText, by?: string): Promise<Annotation>;
  get(id: string): Promise<Annotation | null>;
  update(id: string, patch: AnnotationPatch, doc?: DocText, by?: string): Promise<Annotation>;
  delete(id: string): Promise<Annotation>;
  list(filter?: AnnotationFilter): Promise<Annotation[]>;
  restore(backup: {
    annotations: readonly RestorableAnnotation[];
    tags: readonly RestorableTag[];
  }): Promise<{ added: number; skipped: number }>;
  knownDocuments(): Promise<KnownDocument[]>;
  reanchorDocument(docId: string, newText: string, newHash: string): Promise<ReanchorCounts>;
  orphanDocument(docId: string): Promise<number>;
  deleteByDocument(docId: string): Promise<number>;
  listTags(): Promise<Tag[]>;
  getTag(name: string): Promise<Tag>;
  createTag(input: NewTag): Promise<Tag>;
  updateTag(name: string, patch: TagPatch): Promise<Tag>;
  deleteTag(name: string, options?: { detach?: boolean }): Promise<number>;
  /** Release the connection(s). */
  close(): Promise<void>;
}

/**
 * The search side: passages prepared by the pipeline (segmented and analysed
 * in Node, with the one analyzer) go in; parsed queries with their filters
 * come out as a page of hits (top k), the total and counts per document.
 * Match offsets for the page are computed in Node the same way for every
 * implementation.
 */
export interface SearchBackend {
  readonly kind: BackendKind;
  /** Add or replace a document's passages. */
  indexDocument(prep: PreparedDocument): Promise<CorpusDocument>;
  /** Remove a document and its passages; an unknown id is ignored. */
  removeDocument(id: string): Promise<void>;
  /**
   * Run a parsed query (`lang:`, `doc:`, `kind:` filters included) and return
   * the requested page, the total and the hits per document.
   * @param query - the query as typed, echoed in the result
   */
  search(query: string, parsed: ParsedQuery, opts?: SearchOptions): Promise<SearchResult>;
}
