/**
 * What the web app is built from (see `createApp` in app.ts), in a
 * module of its own so the routers that take it need not import the app.
 */
import type { Engine } from '../backends/embedded/engine.js';
import type { AccountBackend, AnnotationBackend, RoundBackend, SearchBackend } from '../backends/types.js';
import type { CorpusSync, IndexStatus } from '../library/watch.js';
import type { AnnotationStore } from '../store/annotations.js';
import type { Access } from './security.js';

/** Upload limits (tests use small ones). */
export interface UploadLimits {
  /** Largest file, in bytes (default 200 MB). */
  maxFileBytes?: number;
  /** Most files per request (default 20). */
  maxFiles?: number;
}

/** What the app serves. */
export interface AppDeps {
  engine: Engine;
  /** The annotation store; without it (and without `annotations`) the app is search-only. */
  store?: AnnotationStore;
  /** The search backend the routes query; the embedded `engine`'s by default. */
  search?: SearchBackend;
  /**
   * The annotation backend the routes use: `store`'s by default; PostgreSQL's
   * in the lab-server mode, where `engine` only holds the papers for lookups
   * and `store` is absent.
   */
  annotations?: AnnotationBackend;
  /**
   * Researcher accounts and coding rounds: `store`'s database's by default;
   * PostgreSQL's in the lab-server mode. Without them (and without `store`)
   * the token alone signs in the one owner.
   */
  accounts?: { users: AccountBackend; rounds: RoundBackend };
  /**
   * Who may reach the app: the authentication (a token, or explicitly none),
   * extra allowed host names, the bound address, trust proxy.
   */
  access: Access;
  /** Indexing state, shown on every page and at /api/status while the corpus is being indexed. */
  status?: IndexStatus;
  /** Syncs the corpus folder into the engine; with `corpusDir` and `dataDir`, papers can be added, edited and removed from the app. */
  sync?: CorpusSync;
  /** The folder papers, metadata edits (`duikou.metadata.json`) and glossary additions are written to: the user's library. */
  corpusDir?: string;
  /** A read-only folder of sample papers indexed beneath `corpusDir` (never written; see `library.ts`). */
  sampleDir?: string;
  /** The data folder; removed papers are moved to its `removed/`. */
  dataDir?: string;
  /** Upload limits (default 20 files of at most 200 MB per request). */
  upload?: UploadLimits;
}
