/**
 * `duikou backup` in the lab-server mode: PostgreSQL's own `pg_dump`, which
 * takes a consistent snapshot while every instance keeps writing, in its
 * custom format (compressed; `pg_restore` reads it back, whole or in part).
 * The archive is checked by listing it with `pg_restore --list`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { UserInputError } from '../../core/errors.js';
import { redactUrl } from './db.js';

const run = promisify(execFile);

/** What a backup wrote. */
export interface PgBackupResult {
  /** Annotations in the database when the dump started (the dump holds this or later state of one instant). */
  annotations: number;
  bytes: number;
  ms: number;
  /** Tables found in the archive's table of contents. */
  tables: number;
}

/**
 * A PostgreSQL client program: the one on PATH (Debian's wrapper picks the
 * right version), else the newest under /usr/lib/postgresql.
 */
export function pgProgram(name: 'pg_dump' | 'pg_restore', env: NodeJS.ProcessEnv = process.env): string {
  for (const dir of (env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, name))) return join(dir, name);
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, 'bin', name))) return join(root, v, 'bin', name);
  throw new UserInputError(
    'no_pg_dump',
    `${name} was not found; install the PostgreSQL client programs (Debian: sudo apt-get install postgresql-client-15)`,
    500,
  );
}

/** The URL without its password, and the password for PGPASSWORD (never in a process's arguments, which others can list). */
function splitPassword(url: string): { url: string; password?: string } {
  const u = new URL(url);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.password = '';
  return { url: u.toString(), ...(password !== undefined && { password }) };
}

/**
 * Dump the database at `url` to `file` with `pg_dump --format=custom`, then
 * list the archive to check it is whole.
 * @throws Error naming the (password-less) URL when pg_dump fails
 */
export async function pgBackup(url: string, file: string): Promise<PgBackupResult> {
  const started = Date.now();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  let annotations: number;
  try {
    await client.connect();
    annotations = (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM annotations')).rows[0]?.n ?? 0;
  } catch (err) {
    throw new Error(`cannot read the lab server's database at ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
  } finally {
    await client.end().catch(() => undefined);
  }
  const { url: bare, password } = splitPassword(url);
  const env = { ...process.env, ...(password !== undefined && { PGPASSWORD: password }) };
  try {
    await run(pgProgram('pg_dump'), ['--format=custom', '--no-owner', `--file=${file}`, `--dbname=${bare}`], { env });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`pg_dump of ${redactUrl(url)} failed: ${(e.stderr || e.message).trim()}`, { cause: err });
  }
  const list = await run(pgProgram('pg_restore'), ['--list', file], { env, maxBuffer: 64 * 1024 * 1024 });
  const tables = list.stdout.split('\n').filter((l) => / TABLE DATA /.test(l)).length;
  if (!/ TABLE DATA public annotations /.test(list.stdout)) throw new Error(`backup ${file} lacks the annotations table; it is not usable`);
  return { annotations, bytes: statSync(file).size, ms: Date.now() - started, tables };
}
