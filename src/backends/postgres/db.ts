/**
 * Connecting to the lab server's PostgreSQL database and bringing its schema
 * up to date. Like the embedded SQLite database, an older schema is upgraded
 * in place and never wiped; a schema written by a newer duikou is refused.
 */
import pg from 'pg';
import { UserInputError } from '../../core/errors.js';
import { setting } from '../../core/settings.js';
import { PG_MIGRATIONS, type PgMigration } from './migrations.js';

/** How to connect: the URL and the pool's limits. */
export interface PgOptions {
  url: string;
  /** Connections in the pool (per app instance). */
  poolSize?: number;
  /** Longest a statement may run before PostgreSQL cancels it, in ms (0: no limit). */
  statementTimeoutMs?: number;
  /** Migrations to apply, all of {@link PG_MIGRATIONS} unless a test passes a prefix. */
  migrations?: readonly PgMigration[];
}

/** Advisory-lock key under which migrations run, so two instances starting at once migrate once. */
const MIGRATION_LOCK = 0x64_75_69_6b; // 'duik'

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparsable database URL)';
  }
}

/**
 * Open a pool on the database and migrate it.
 * @throws Error naming the (password-less) URL when the server cannot be reached
 */
export async function openPgPool(options: PgOptions): Promise<pg.Pool> {
  const statementTimeout = options.statementTimeoutMs ?? 30_000;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    statement_timeout: statementTimeout,
    // PostgreSQL cancels a slow statement itself; a server that stopped answering (frozen, or cut
    // off without the connection closing) cannot, and a request on that connection waited forever.
    // Past the statement timeout and a margin the client gives up and the connection is dropped.
    ...(statementTimeout > 0 ? { query_timeout: statementTimeout + QUERY_TIMEOUT_MARGIN_MS } : {}),
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    connectionTimeoutMillis: 10_000,
    application_name: 'duikou',
  });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on('error', (err) => console.error(`duikou: PostgreSQL connection lost (${err.message}); reconnecting on the next request`));
  // The pool stops listening for errors on a client while it is checked out,
  // so a server that goes away between two queries of a transaction (or while
  // a client waits for LISTEN notices) would be an uncaught 'error' event and
  // take the process down. The query in flight already gets the error, and the
  // pool discards the dead client when it is released, so this only keeps the
  // event from being unhandled.
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    await pgMigrate(pool, options.migrations ?? PG_MIGRATIONS);
    return pool;
  } catch (err) {
    await pool.end();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'ETIMEDOUT' || /timeout/i.test(e.message)) {
      throw new Error(`cannot reach the PostgreSQL server at ${redactUrl(options.url)} (${e.message}); is it running?`, { cause: err });
    }
    throw err;
  }
}

/** The schema version recorded in `duikou_migrations` (0 for an empty database). */
export async function pgSchemaVersion(q: pg.Pool | pg.PoolClient): Promise<number> {
  const r = await q.query<{ v: number }>(
    `SELECT coalesce((SELECT max(version) FROM duikou_migrations), 0) AS v
     WHERE to_regclass('duikou_migrations') IS NOT NULL`,
  );
  return r.rows[0]?.v ?? 0;
}

/**
 * Apply the missing migrations, each in its own transaction with its row in
 * `duikou_migrations`, under a transaction-level advisory lock.
 * @returns the schema version afterwards
 */
export async function pgMigrate(pool: pg.Pool, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query(
      `CREATE TABLE IF NOT EXISTS duikou_migrations (
         version     integer PRIMARY KEY,
         description text NOT NULL,
         applied_at  timestamptz NOT NULL DEFAULT now()
       )`,
    );
    for (let i = 0; i < migrations.length; i++) {
      const m = migrations[i] as PgMigration;
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        const found = await pgSchemaVersion(client);
        if (found > migrations.length) {
          throw new Error(
            `database has schema version ${found}, newer than this duikou knows (${migrations.length}); ` +
              'upgrade duikou instead (the database was left untouched)',
          );
        }
        if (found <= i) {
          await client.query(m.up);
          await client.query('INSERT INTO duikou_migrations (version, description) VALUES ($1, $2)', [i + 1, m.description]);
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${i + 1} (${m.description}) failed: ${(err as Error).message}`, { cause: err });
      }
    }
    if (migrations.length === 0) {
      const found = await pgSchemaVersion(client);
      if (found > 0) throw new Error(`database has schema version ${found}, newer than this duikou knows (0)`);
    }
    return await pgSchemaVersion(client);
  } finally {
    client.release();
  }
}

/**
 * The lab-server connection settings (`DUIKOU_DATABASE_URL`,
 * `DUIKOU_DATABASE_POOL_SIZE`, `DUIKOU_STATEMENT_TIMEOUT_MS`), or undefined in
 * the embedded mode (no URL).
 * @throws Error naming the setting when a value is malformed
 */
export function pgOptionsFromSettings(env: NodeJS.ProcessEnv = process.env): PgOptions | undefined {
  const url = setting('DUIKOU_DATABASE_URL', env);
  if (url === '') return undefined;
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new Error(`DUIKOU_DATABASE_URL must start with postgres:// (got ${redactUrl(url)})`);
  }
  const whole = (name: 'DUIKOU_DATABASE_POOL_SIZE' | 'DUIKOU_STATEMENT_TIMEOUT_MS', min: number): number => {
    const raw = setting(name, env);
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min) throw new Error(`${name} must be a whole number ≥ ${min} (got "${raw}")`);
    return n;
  };
  return { url, poolSize: whole('DUIKOU_DATABASE_POOL_SIZE', 1), statementTimeoutMs: whole('DUIKOU_STATEMENT_TIMEOUT_MS', 0) };
}

/** How long past the statement timeout a query may wait for an answer before the server counts as away. */
export const QUERY_TIMEOUT_MARGIN_MS = 5_000;

/**
 * The database's refusals that are the request's doing, as user errors: PostgreSQL stores no NUL
 * character (U+0000) in text and refuses any statement carrying one (SQLSTATE 22021), where the
 * embedded store takes it; null for any other error.
 */
export function pgUserError(err: unknown): UserInputError | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (code !== '22021') return null;
  return new UserInputError(
    'bad_text',
    'The text holds a NUL character (U+0000), which the lab server cannot store or look up (文本含有无法保存的字符)',
  );
}

/** Socket-level failures: the server is down, restarting or unreachable. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Whether an error means the database is away (down, restarting, unreachable,
 * or dropped the connection) rather than a bug or a bad request: such a
 * request is answered 503, and the pool connects again on the next one.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : '';
  // SQLSTATE class 08: connection exceptions; 57P01–57P03: shut down by an administrator, crashed, starting up.
  if (UNREACHABLE_CODES.has(code) || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
  const message = typeof e.message === 'string' ? e.message : '';
  if (
    /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Query read timeout|Cannot use a pool after calling end/i.test(
      message,
    )
  ) {
    return true;
  }
  return e.cause !== undefined && e.cause !== err && isDatabaseUnavailable(e.cause);
}

/** Run `fn` in one transaction on one pooled connection: all or nothing. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  let broken: Error | undefined;
  try {
    await c.query('BEGIN');
    const result = await fn(c);
    await c.query('COMMIT');
    return result;
  } catch (err) {
    // A server that stopped answering gets no ROLLBACK (it would wait as long again): the
    // connection is dropped instead, which ends the transaction on the server.
    if (isDatabaseUnavailable(err)) broken = err instanceof Error ? err : new Error(String(err));
    else await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release(broken);
  }
}
