/**
 * The two sides of duikou's storage (search; annotations with the accounts
 * and coding rounds beside them), as interfaces with an embedded
 * implementation (FlexSearch-style in-memory index + SQLite, the default) and
 * a PostgreSQL one (the lab-server mode, chosen by `DUIKOU_DATABASE_URL`).
 *
 * Every interface is asynchronous: PostgreSQL answers over a socket, and the
 * embedded implementations simply return settled promises around today's
 * synchronous code, so callers written against the interface work with both.
 */
import { UserInputError } from '../core/errors.js';
import type { CorpusDocument, Lang, Passage } from '../core/types.js';
import type { AnalyzedToken } from '../pipeline/analyze.js';
import type { PassageMatches, SearchOptions, SearchResult } from './search-contract.js';
import type { PreparedDocument } from '../pipeline/prepare.js';
import type { ParsedQuery } from '../pipeline/query.js';
import type { RankOptions } from '../pipeline/rank.js';
import type {
  Annotation,
  AnnotationFilter,
  AnnotationKey,
  AnnotationPatch,
  DocText,
  KnownDocument,
  ListPage,
  NewAnnotation,
  NewTag,
  ReanchorCounts,
  RestorableAnnotation,
  RestorableTag,
  Tag,
  TagPatch,
} from '../store/annotation-types.js';
import type { NewRound, Round } from '../store/rounds.js';
import type { User } from '../store/users.js';

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
  /** `viewer`: hide what a blind coding round hides from them. */
  get(id: string, viewer?: string): Promise<Annotation | null>;
  update(id: string, patch: AnnotationPatch, doc?: DocText, by?: string): Promise<Annotation>;
  /** Merge coders' annotations into the group's version (the owner's, after discussion). */
  merge(ids: readonly string[], doc: DocText, by: string): Promise<Annotation>;
  delete(id: string): Promise<Annotation>;
  list(filter?: AnnotationFilter): Promise<Annotation[]>;
  /** {@link list}'s annotations, in its order, as keys: what ordering and counting read, without quotes and notes. */
  listKeys(filter?: AnnotationFilter): Promise<AnnotationKey[]>;
  /** One page of {@link list}'s answer, and how many match in all. */
  listPage(filter: AnnotationFilter, page: ListPage): Promise<{ total: number; annotations: Annotation[] }>;
  restore(backup: {
    annotations: readonly RestorableAnnotation[];
    tags: readonly RestorableTag[];
  }): Promise<{ added: number; skipped: number }>;
  knownDocuments(): Promise<KnownDocument[]>;
  reanchorDocument(docId: string, newText: string, newHash: string): Promise<ReanchorCounts>;
  orphanDocument(docId: string): Promise<number>;
  deleteByDocument(docId: string): Promise<number>;
  /** Tags with usage counts (of what `viewer` may see, when given). */
  listTags(viewer?: string): Promise<Tag[]>;
  getTag(name: string): Promise<Tag>;
  createTag(input: NewTag): Promise<Tag>;
  updateTag(name: string, patch: TagPatch): Promise<Tag>;
  deleteTag(name: string, options?: { detach?: boolean }): Promise<number>;
  /** Release the connection(s). */
  close(): Promise<void>;
}

/**
 * Researcher accounts and their sign-in sessions. Behaviour (validation,
 * errors, scrypt hashing, sessions stored only as SHA-256) is that of
 * `UserStore`'s methods of the same names; every write is one transaction.
 */
export interface AccountBackend {
  /** Whether any account exists: then everyone signs in with a name and password. */
  hasUsers(): Promise<boolean>;
  /** Every account, ordered by name key. */
  list(): Promise<User[]>;
  /** The account of this name (any case), or null. */
  find(name: string): Promise<User | null>;
  /** @throws UserInputError bad_user | bad_role | bad_password | user_exists (409) */
  add(name: unknown, role: unknown, password: unknown): Promise<User>;
  /** Set a new password; every session of the account ends. */
  setPassword(name: string, password: unknown): Promise<void>;
  setRole(name: string, role: unknown): Promise<User>;
  /** Remove an account and its sessions; its annotations keep its name. */
  remove(name: string): Promise<User>;
  /** The account if `password` is its password, else null (the same time either way). */
  authenticate(name: string, password: string): Promise<User | null>;
  /** Start a session: returns the id for the cookie (only its hash is stored). */
  startSession(userId: number, now?: number): Promise<{ id: string; expires: Date }>;
  /** The signed-in account of a session id, or null when unknown or expired. */
  sessionUser(id: string, now?: number): Promise<User | null>;
  endSession(id: string): Promise<void>;
}

/**
 * Coding rounds (papers coded blind by a set of coders until the owner
 * closes the round). Behaviour is that of `RoundStore`'s methods.
 */
export interface RoundBackend {
  /** @throws UserInputError bad_round */
  create(input: NewRound, by: string): Promise<Round>;
  /** @throws UserInputError not_found (404), round_closed (409) */
  close(id: number): Promise<Round>;
  /** Newest first. */
  list(): Promise<Round[]>;
  get(id: number): Promise<Round | null>;
  /** @throws UserInputError not_found (404) */
  mustGet(id: number): Promise<Round>;
}

/**
 * The papers an app instance serves, as its pages, exports and analysis
 * views read them: metadata, text and passages by id, without searching.
 * The embedded engine holds them in both modes (on a lab server it shows
 * the papers PostgreSQL indexes), so routers and services that only read
 * papers depend on this rather than on the engine.
 */
export interface PaperCatalog {
  /** A number that changes whenever the papers, their metadata or the glossary do (for caches). */
  readonly generation: number;
  /** Every paper, in the catalogue's order. */
  documents(): CorpusDocument[];
  /** The paper of this id, if any. */
  document(id: string): CorpusDocument | undefined;
  /** @throws UserInputError not_found for an unknown id */
  requireDocument(id: string): CorpusDocument;
  /** The passage of this id, if any. */
  passage(id: number): Passage | undefined;
  /** A paper's title ('' if unknown). */
  title(docId: string): string;
  /** A passage's analysed tokens (empty for an unknown id). */
  tokens(id: number): AnalyzedToken[];
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
  /**
   * Every match of a parsed query, not a page of it: each matching passage
   * (documents in id order, passages in text order) with its matched ranges,
   * found by the same ranking and verification as {@link search} but always
   * strictly (an occurrence is the whole query). The concordance,
   * collocates, dispersion and the reader's marks are built on this.
   * @throws UserInputError for an unknown `doc:`
   */
  allMatches(parsed: ParsedQuery, opts?: AllMatchesOptions): Promise<PassageMatches[]>;
  /**
   * How often each of `terms` (single analysed terms) occurs in the whole
   * corpus, and how many tokens (word positions) the corpus has: the
   * corpus side of a collocate's 2×2 table.
   */
  corpusCounts(terms: readonly string[]): Promise<CorpusCounts>;
}

/** Options of {@link SearchBackend.allMatches}: a search's, without paging or match mode. */
export type AllMatchesOptions = Omit<RankOptions, 'match'> & { lang?: Lang; docs?: string[]; within?: readonly string[] };

/** What {@link SearchBackend.corpusCounts} answers. */
export interface CorpusCounts {
  /** Tokens in the corpus (mean passage length × passages, as BM25 sees it). */
  tokens: number;
  /** Each asked term's occurrences in the corpus (0 when absent). */
  frequencies: Map<string, number>;
}

/**
 * The answer for a feature the lab-server (PostgreSQL) mode does not offer
 * yet: a 501 that names it and says where it works, never a crash or an
 * empty page that looks like "no results".
 */
export function embeddedOnly(feature: string): UserInputError {
  return new UserInputError(
    'embedded_only',
    `${feature}: not available on a lab server (PostgreSQL) yet; it works in the embedded mode (without DUIKOU_DATABASE_URL) (实验室服务器模式暂不支持此功能)`,
    501,
  );
}
