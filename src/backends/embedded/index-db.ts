/**
 * Opening the persisted index (`DUIKOU_DATA/index.db`, see persist.ts): its
 * schema and format version, wiping it when the version is not the current
 * one, moving a damaged file aside to rebuild it, and the metadata overrides
 * last read without a mistake, kept in its `meta` table.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as DB } from 'better-sqlite3';
import { USER_DICT_PATH } from '../../pipeline/jieba.js';
import { INDEX_FORMAT_VERSION } from '../../pipeline/index.js';
import { METADATA_FILE, type MetadataOverrides, checkMetadataOverrides, noOverrides } from '../../pipeline/metadata-file.js';
import { STATE_SCHEMA } from './state-format.js';
import { DataFileError, describeStorageFailure, storageFailure } from '../../store/db.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, file TEXT NOT NULL, size INTEGER NOT NULL, mtime_ms REAL NOT NULL,
    hash TEXT NOT NULL, pages TEXT
  ) STRICT;
  -- A paper's text in parts of about TEXT_PART UTF-16 code units (texts.ts), so a passage's stretch reads without the rest.
  CREATE TABLE IF NOT EXISTS text_parts (
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    part INTEGER NOT NULL, start INTEGER NOT NULL, text TEXT NOT NULL,
    PRIMARY KEY (doc_id, part)
  ) STRICT;
  CREATE TABLE IF NOT EXISTS passages (
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, kind TEXT NOT NULL, lang TEXT NOT NULL, section TEXT,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, pieces TEXT NOT NULL, level INTEGER,
    terms TEXT NOT NULL, counts TEXT NOT NULL, words INTEGER NOT NULL, bigrams TEXT NOT NULL,
    PRIMARY KEY (doc_id, ordinal)
  ) STRICT, WITHOUT ROWID;
  ${STATE_SCHEMA}
`;

/** The version key of the persisted index: the format, and the dictionary the analyzer segments with. */
export function indexFormatKey(): string {
  let dict: string;
  try {
    dict = createHash('sha256').update(readFileSync(USER_DICT_PATH)).digest('hex').slice(0, 16);
  } catch {
    dict = 'none';
  }
  return `${INDEX_FORMAT_VERSION}:${dict}`;
}

/** Open the index database at `file`, starting it over when its format is not the current one. */
function openIndexFile(file: string): DB {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT');
    const key = indexFormatKey();
    const stored = db.prepare("SELECT value FROM meta WHERE key = 'format'").get() as { value: string } | undefined;
    db.transaction(() => {
      if (stored?.value !== key) {
        // Stale or new: everything in here is derived from the corpus, so start over
        // with the current schema.
        db.exec(
          'DROP TABLE IF EXISTS passages; DROP TABLE IF EXISTS text_parts; DROP TABLE IF EXISTS documents; DROP TABLE IF EXISTS state;',
        );
        db.prepare("INSERT INTO meta (key, value) VALUES ('format', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key);
      }
      db.exec(SCHEMA);
    })();
    // A damaged page of the list of papers shows here; damage deeper in the file shows
    // when a paper is read, and the sync then rebuilds (see isIndexDamage).
    db.prepare('SELECT id, file, size, mtime_ms, hash FROM documents').all();
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Move a damaged index file (and its WAL and shared-memory files) aside, as
 * `index.db.damaged-<time>`, so a fresh one can be built in its place.
 * @returns the path it was moved to
 */
export function moveIndexAside(file: string): string {
  const aside = `${file}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(file, aside);
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(file + suffix)) renameSync(file + suffix, aside + suffix);
  }
  return aside;
}

/** Is this error the index database being damaged (truncated, overwritten, not a database)? */
export function isIndexDamage(err: unknown): boolean {
  return storageFailure(err) === 'corrupt';
}

/**
 * Open (or create) the index database, wiping it when its format is not the
 * current one. The index is a cache of the corpus: a damaged file is moved
 * aside (see {@link moveIndexAside}) and rebuilt, with a line on stderr.
 * @throws DataFileError naming the file when it cannot be written (a read-only data folder, a full disk)
 */
export function openIndexDatabase(file: string): DB {
  try {
    mkdirSync(dirname(resolve(file)), { recursive: true });
    return openIndexFile(file);
  } catch (err) {
    const failure = storageFailure(err);
    if (failure === 'corrupt') {
      const aside = moveIndexAside(file);
      process.stderr.write(
        `duikou: ${file} (the search index) was damaged (${(err as Error).message}); moved it to ${aside} and rebuilding it from the corpus.\n`,
      );
      try {
        return openIndexFile(file);
      } catch (again) {
        const f = storageFailure(again);
        if (f === null) throw again;
        throw new DataFileError(describeStorageFailure(file, f, again, 'the search index'), file, f, { cause: again });
      }
    }
    if (failure === null) throw err;
    throw new DataFileError(describeStorageFailure(file, failure, err, 'the search index'), file, failure, { cause: err });
  }
}

/**
 * Keep the metadata overrides last read without a mistake, so a start with a
 * broken `duikou.metadata.json` still shows the titles the researcher set.
 */
export function saveGoodOverrides(db: DB, overrides: MetadataOverrides): void {
  db.prepare("INSERT INTO meta (key, value) VALUES ('overrides', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(
    JSON.stringify(overrides),
  );
}

/** The overrides saved by {@link saveGoodOverrides}, or none. */
export function lastGoodOverrides(db: DB): MetadataOverrides {
  const row = db.prepare("SELECT value FROM meta WHERE key = 'overrides'").get() as { value: string } | undefined;
  if (!row) return noOverrides();
  try {
    return checkMetadataOverrides(JSON.parse(row.value), METADATA_FILE);
  } catch {
    return noOverrides();
  }
}
