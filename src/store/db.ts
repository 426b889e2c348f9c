/**
 * Opening duikou's SQLite database (better-sqlite3) and bringing its schema up
 * to date. An older database is upgraded in place, never wiped; a database
 * written by a newer duikou is refused rather than guessed at.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { type Migration, MIGRATIONS } from './migrations.js';

export type { Database } from 'better-sqlite3';

/** Options of {@link openDatabase}; tests use them to build old databases. */
export interface OpenOptions {
  /** The migrations to apply, all of {@link MIGRATIONS} unless a test passes a prefix of them. */
  migrations?: readonly Migration[];
}

/** The database's schema version (`PRAGMA user_version`). */
export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Apply the migrations the database has not had yet, each in its own
 * IMMEDIATE transaction together with its `user_version` bump, so a crash
 * leaves the database at a whole version and two processes opening the same
 * fresh file do not both migrate it (the second waits, re-reads the version and
 * finds nothing to do).
 * @throws Error when the database is newer than the code knows
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const step = db.transaction((i: number, m: Migration): boolean => {
    const current = schemaVersion(db);
    if (current > i) return false; // another connection got there first
    if (typeof m.up === 'string') db.exec(m.up);
    else m.up(db);
    db.pragma(`user_version = ${i + 1}`);
    return true;
  });
  const found = schemaVersion(db);
  if (found > migrations.length) {
    throw new Error(
      `database ${db.name} has schema version ${found}, newer than this duikou knows (${migrations.length}); ` +
        'upgrade duikou instead of opening it with an older version (the database was left untouched)',
    );
  }
  for (let i = found; i < migrations.length; i++) {
    const m = migrations[i] as Migration;
    try {
      step.immediate(i, m);
    } catch (err) {
      throw new Error(`migration ${i + 1} (${m.description}) failed on ${db.name}: ${(err as Error).message}`, { cause: err });
    }
  }
  return schemaVersion(db);
}

/** What kind of storage failure an error is, if it is one (SQLite's codes and the file system's). */
export type StorageFailure = 'full' | 'read_only' | 'corrupt' | 'io';

/**
 * Classify an error from SQLite or the file system: the disk is full, the
 * folder or file cannot be written, the database file is damaged, or another
 * input/output error; `null` for anything else.
 */
export function storageFailure(err: unknown): StorageFailure | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return 'full';
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM' || code.startsWith('SQLITE_READONLY')) return 'read_only';
  if (code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_CANTOPEN_') || code === 'SQLITE_PERM') return 'read_only';
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return 'corrupt';
  if (code.startsWith('SQLITE_IOERR') || code === 'EIO') return 'io';
  return null;
}

/**
 * A database file duikou cannot use: the message names the file, says what is
 * wrong and what to do; `failure` says which kind of trouble it is.
 */
export class DataFileError extends Error {
  constructor(
    message: string,
    /** The database file. */
    readonly file: string,
    readonly failure: StorageFailure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DataFileError';
  }
}

/** The sentence a storage failure of `file` gets; `what` says what the file holds. */
export function describeStorageFailure(file: string, failure: StorageFailure, err: unknown, what: string): string {
  const detail = (err as Error)?.message ?? String(err);
  switch (failure) {
    case 'full':
      return `${file} (${what}) cannot be written: the disk is full (${detail}). Free some space and start duikou again.`;
    case 'read_only':
      return (
        `${file} (${what}) cannot be opened for writing (${detail}). duikou needs to write in its data folder ` +
        `${dirname(resolve(file))}: check that the folder and the files in it are writable by you, or set DUIKOU_DATA to a folder that is.`
      );
    case 'corrupt':
      return `${file} (${what}) is damaged or is not a duikou database (${detail}).`;
    case 'io':
      return `${file} (${what}) could not be read or written: input/output error (${detail}). Check the disk.`;
  }
}

/**
 * Run `fn` in an IMMEDIATE transaction (all or nothing). It takes the write
 * lock up front, so a second connection waits for `busy_timeout` instead of
 * failing with SQLITE_BUSY when it upgrades a read to a write.
 */
export function writeImmediately<T>(db: Database, fn: () => T): T {
  return db.transaction(fn).immediate();
}

/**
 * Open (creating it and its folder if needed) the database at `file` and
 * migrate it to the latest schema. Pass `':memory:'` for a throwaway database.
 * The database is checked (`PRAGMA quick_check`, a few milliseconds for a
 * library of annotations) so that a damaged file is refused at once, not at
 * the first annotation that touches a bad page.
 * @throws DataFileError naming the file when it is damaged, not a database, or
 *   cannot be written (a read-only data folder); the file is left untouched
 */
export function openDatabase(file: string, options: OpenOptions = {}): Database {
  const onDisk = file !== ':memory:' && !file.startsWith('file:');
  const fail = (err: unknown): never => {
    const failure = storageFailure(err);
    if (!onDisk || failure === null) throw err;
    let message = describeStorageFailure(file, failure, err, 'your annotations and tags');
    if (failure === 'corrupt') {
      message +=
        ' duikou has not changed it and will not start on it, so nothing more is lost. Restore your latest backup: ' +
        `stop duikou, copy the backup (made with \`duikou backup\`) over ${file}, delete ${file}-wal and ${file}-shm if present, ` +
        'and start duikou again. Keep a copy of the damaged file: `sqlite3 FILE .recover` may save what it holds.';
    }
    throw new DataFileError(message, file, failure, { cause: err });
  };
  let db: Database;
  try {
    if (onDisk) mkdirSync(dirname(resolve(file)), { recursive: true });
    db = new BetterSqlite3(file);
  } catch (err) {
    return fail(err);
  }
  try {
    // Wait for other connections' write locks instead of failing at once.
    db.pragma('busy_timeout = 5000');
    // WAL: readers never block the writer and vice versa (the web app reads while a re-anchor writes).
    db.pragma('journal_mode = WAL');
    // NORMAL is safe with WAL: a commit can be lost only on power failure / OS crash
    // (never on an application crash), and the database is never corrupted; FULL
    // would fsync on every commit for no gain in that respect.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw Object.assign(new Error(`integrity check: ${String(check)}`), { code: 'SQLITE_CORRUPT' });
    migrate(db, options.migrations ?? MIGRATIONS);
    return db;
  } catch (err) {
    db.close();
    return fail(err);
  }
}
