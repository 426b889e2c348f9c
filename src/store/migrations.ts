/**
 * Schema migrations, in order. Migration `i` (0-based) takes a database from
 * `PRAGMA user_version = i` to `i + 1`; {@link openDatabase} runs the missing
 * ones, each in its own transaction. Never edit or reorder a released
 * migration — add a new one: researchers' databases hold annotations that must
 * survive every upgrade.
 */
import type { Database } from 'better-sqlite3';

/** One migration: SQL to execute, or a function for changes SQL alone cannot express. */
export interface Migration {
  /** What the migration does, for error messages and the log. */
  description: string;
  up: string | ((db: Database) => void);
}

export const MIGRATIONS: readonly Migration[] = [
  {
    description: 'documents, annotations, tags and their links',
    up: `
      -- Documents the store has seen, with the hash of the text last anchored on.
      CREATE TABLE documents (
        id        TEXT PRIMARY KEY,
        text_hash TEXT NOT NULL,
        seen_at   TEXT NOT NULL
      ) STRICT;

      -- Offsets are UTF-16 code units of the document's canonical text.
      -- prefix/exact/suffix are the W3C TextQuoteSelector used to re-anchor.
      CREATE TABLE annotations (
        id            TEXT PRIMARY KEY,
        doc_id        TEXT NOT NULL REFERENCES documents(id) ON DELETE RESTRICT,
        start         INTEGER NOT NULL CHECK (start >= 0),
        "end"         INTEGER NOT NULL CHECK ("end" > start),
        exact         TEXT NOT NULL CHECK (exact <> ''),
        prefix        TEXT NOT NULL DEFAULT '',
        suffix        TEXT NOT NULL DEFAULT '',
        note          TEXT NOT NULL DEFAULT '',
        colour        TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        text_hash     TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('anchored', 'orphaned')),
        anchor_method TEXT NOT NULL CHECK (anchor_method IN ('created', 'exact', 'quote', 'fuzzy', 'orphaned'))
      ) STRICT;

      -- name as the researcher typed it (trimmed); name_key = NFKC + toLowerCase,
      -- because SQLite's NOCASE only folds ASCII. '/' separates hierarchy levels.
      CREATE TABLE tags (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        name_key    TEXT NOT NULL,
        colour      TEXT,
        description TEXT NOT NULL DEFAULT '',
        created_at  TEXT NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX tags_name_key ON tags(name_key);

      CREATE TABLE annotation_tags (
        annotation_id TEXT NOT NULL REFERENCES annotations(id) ON DELETE CASCADE,
        tag_id        INTEGER NOT NULL REFERENCES tags(id) ON DELETE RESTRICT,
        PRIMARY KEY (annotation_id, tag_id)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    description: 'indexes for listing by document and by tag; documents.removed_at',
    up: `
      CREATE INDEX annotations_by_doc ON annotations(doc_id, start);
      CREATE INDEX annotations_by_status ON annotations(status);
      CREATE INDEX annotation_tags_by_tag ON annotation_tags(tag_id);
      -- Set when the document disappears from the corpus (its annotations are orphaned, never deleted).
      ALTER TABLE documents ADD COLUMN removed_at TEXT;
    `,
  },
  {
    description: "researcher accounts and sessions; each annotation's coder (existing ones: the owner)",
    up: `
      -- name as typed; name_key = NFKC + lowercase, so 'Li' and 'li' are one account.
      -- password_hash: scrypt$N$r$p$salt$hash (base64url), never the password.
      CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL,
        name_key      TEXT NOT NULL UNIQUE,
        role          TEXT NOT NULL CHECK (role IN ('owner', 'coder', 'reader')),
        password_hash TEXT NOT NULL,
        created_at    TEXT NOT NULL
      ) STRICT;

      -- Only the SHA-256 of a session id is kept: a copy of the database signs nobody in.
      CREATE TABLE sessions (
        id_hash    TEXT PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX sessions_by_user ON sessions(user_id);

      -- Coders by name, so an annotation keeps its coder after the account is removed.
      -- Annotations made before accounts existed were made by the one implicit owner.
      ALTER TABLE annotations ADD COLUMN created_by TEXT NOT NULL DEFAULT 'owner';
      ALTER TABLE annotations ADD COLUMN updated_by TEXT NOT NULL DEFAULT 'owner';
      CREATE INDEX annotations_by_coder ON annotations(created_by);
    `,
  },
  {
    description: 'coding rounds: papers coded blind by a set of coders until the owner closes the round',
    up: `
      CREATE TABLE rounds (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        status     TEXT NOT NULL CHECK (status IN ('open', 'closed')),
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        closed_at  TEXT
      ) STRICT;
      CREATE TABLE round_documents (
        round_id INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
        doc_id   TEXT NOT NULL,
        PRIMARY KEY (round_id, doc_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX round_documents_by_doc ON round_documents(doc_id);
      -- Coders by user name, like annotations.created_by.
      CREATE TABLE round_coders (
        round_id INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
        coder    TEXT NOT NULL,
        PRIMARY KEY (round_id, coder)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    description: "the group version of annotations: which coders' annotations it was accepted or merged from",
    up: `
      -- JSON array of {id, coder, start, end, exact, tags, note}: who made what, kept with the group's annotation.
      ALTER TABLE annotations ADD COLUMN merged_from TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(merged_from));
    `,
  },
  {
    description: 'the keys of annotations (place, dates, the text they were anchored on, coder) in list order, read without the rows',
    up: `
      -- What listing keys reads (KEY_COLUMNS in annotation-rows.ts), in the list order: from this index alone.
      -- In the table these columns stand after the note, so reading them walked every long note's overflow
      -- pages (2,000 notes of 9,000 characters: 45 ms a listing, against 3 ms for the columns before the note).
      -- It begins as annotations_by_doc did, which it replaces.
      CREATE INDEX annotations_keys ON annotations(doc_id, start, created_at, id, "end", colour, updated_at, text_hash, status, created_by);
      DROP INDEX annotations_by_doc;
    `,
  },
];

/** The schema version this code writes: the number of migrations. */
export const SCHEMA_VERSION = MIGRATIONS.length;
