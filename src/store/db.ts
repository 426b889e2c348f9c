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

/**
 * Open (creating it and its folder if needed) the database at `file` and
 * migrate it to the latest schema. Pass `':memory:'` for a throwaway database.
 */
export function openDatabase(file: string, options: OpenOptions = {}): Database {
  if (file !== ':memory:' && !file.startsWith('file:')) mkdirSync(dirname(resolve(file)), { recursive: true });
  const db = new BetterSqlite3(file);
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
    migrate(db, options.migrations ?? MIGRATIONS);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
