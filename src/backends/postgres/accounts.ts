/**
 * Accounts, sign-in sessions and coding rounds on PostgreSQL (lab-server
 * mode): the same behaviour as the embedded `UserStore` and `RoundStore` —
 * the same validation, scrypt hashing and session hashing (shared rules), the
 * same errors and ordering — over the pool the annotations use.
 *
 * Every instance reads accounts, sessions and rounds from the database at
 * each request (nothing is cached), so an account, a sign-in or a round made
 * through one instance holds at once on every other: no notification is
 * needed. Every write is one transaction.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { UserInputError } from '../../core/errors.js';
import { type NewRound, type Round, type RoundRow, noRound, roundClosed, toRound, validateNewRound } from '../../store/rounds.js';
import {
  SESSION_TTL_MS,
  type User,
  type UserRow,
  hashPassword,
  toUser,
  userRules,
  validateUserName,
  verifyPassword,
} from '../../store/users.js';
import type { AccountBackend, RoundBackend } from '../types.js';
import { inTransaction } from './db.js';

const { nameKey, validateRole, validatePassword, sha256, verifyNobody } = userRules;

/** PostgreSQL's code for a unique constraint violated. */
const UNIQUE_VIOLATION = '23505';

const userExists = (name: string) => new UserInputError('user_exists', `User "${name}" already exists (用户已存在)`, 409);
const noUser = (name: string) => new UserInputError('not_found', `No user "${name}" (未找到该用户)`, 404);

/** {@link AccountBackend} on PostgreSQL. */
export class PgAccountStore implements AccountBackend {
  constructor(readonly pool: pg.Pool) {}

  async hasUsers(): Promise<boolean> {
    return ((await this.pool.query('SELECT 1 FROM users LIMIT 1')).rowCount ?? 0) > 0;
  }

  async list(): Promise<User[]> {
    return (await this.pool.query<UserRow>('SELECT * FROM users ORDER BY name_key COLLATE "C"')).rows.map(toUser);
  }

  async find(name: string): Promise<User | null> {
    const row = await this.row(name);
    return row ? toUser(row) : null;
  }

  private async row(name: string): Promise<UserRow | undefined> {
    return (await this.pool.query<UserRow>('SELECT * FROM users WHERE name_key = $1', [nameKey(name.trim())])).rows[0];
  }

  private async mustRow(name: string): Promise<UserRow> {
    const row = await this.row(name);
    if (!row) throw noUser(name);
    return row;
  }

  async add(name: unknown, role: unknown, password: unknown): Promise<User> {
    const n = validateUserName(name);
    const r = validateRole(role);
    const hash = await hashPassword(validatePassword(password));
    try {
      const row = await this.pool.query<UserRow>(
        'INSERT INTO users (name, name_key, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING *',
        [n, nameKey(n), r, hash, new Date().toISOString()],
      );
      return toUser(row.rows[0]!);
    } catch (err) {
      // The unique key decides, so two instances adding the same name at once cannot both succeed.
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) throw userExists(n);
      throw err;
    }
  }

  async setPassword(name: string, password: unknown): Promise<void> {
    const row = await this.mustRow(name);
    const hash = await hashPassword(validatePassword(password));
    await inTransaction(this.pool, async (c) => {
      const n = await c.query('UPDATE users SET password_hash = $1 WHERE id = $2', [hash, row.id]);
      if (n.rowCount === 0) throw noUser(name); // removed through another instance meanwhile
      await c.query('DELETE FROM sessions WHERE user_id = $1', [row.id]);
    });
  }

  async setRole(name: string, role: unknown): Promise<User> {
    const r = validateRole(role);
    const row = (await this.pool.query<UserRow>('UPDATE users SET role = $1 WHERE name_key = $2 RETURNING *', [r, nameKey(name.trim())]))
      .rows[0];
    if (!row) throw noUser(name);
    return toUser(row);
  }

  async remove(name: string): Promise<User> {
    // Sessions go with the account (ON DELETE CASCADE), in the same statement.
    const row = (await this.pool.query<UserRow>('DELETE FROM users WHERE name_key = $1 RETURNING *', [nameKey(name.trim())])).rows[0];
    if (!row) throw noUser(name);
    return toUser(row);
  }

  async authenticate(name: string, password: string): Promise<User | null> {
    const row = typeof name === 'string' ? await this.row(name) : undefined;
    if (!row) {
      await verifyNobody(password);
      return null;
    }
    return (await verifyPassword(password, row.password_hash)) ? toUser(row) : null;
  }

  async startSession(userId: number, now = Date.now()): Promise<{ id: string; expires: Date }> {
    const id = randomBytes(32).toString('base64url');
    const expires = new Date(now + SESSION_TTL_MS);
    await inTransaction(this.pool, async (c) => {
      await c.query('DELETE FROM sessions WHERE expires_at <= $1 COLLATE "C"', [new Date(now).toISOString()]);
      await c.query('INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)', [
        sha256(id),
        userId,
        new Date(now).toISOString(),
        expires.toISOString(),
      ]);
    });
    return { id, expires };
  }

  async sessionUser(id: string, now = Date.now()): Promise<User | null> {
    const row = (
      await this.pool.query<UserRow>(
        // ISO 8601 text compares as time only byte by byte: COLLATE "C", as SQLite compares.
        'SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2 COLLATE "C"',
        [sha256(id), new Date(now).toISOString()],
      )
    ).rows[0];
    return row ? toUser(row) : null;
  }

  async endSession(id: string): Promise<void> {
    await this.pool.query('DELETE FROM sessions WHERE id_hash = $1', [sha256(id)]);
  }
}

/** {@link RoundBackend} on PostgreSQL. */
export class PgRoundStore implements RoundBackend {
  constructor(readonly pool: pg.Pool) {}

  async create(input: NewRound, by: string): Promise<Round> {
    const { name, docIds, coders } = validateNewRound(input);
    const id = await inTransaction(this.pool, async (c) => {
      const rid = (
        await c.query<{ id: number }>(
          "INSERT INTO rounds (name, status, created_by, created_at) VALUES ($1, 'open', $2, $3) RETURNING id",
          [name, by, new Date().toISOString()],
        )
      ).rows[0]!.id;
      await c.query('INSERT INTO round_documents (round_id, doc_id) SELECT $1, unnest($2::text[])', [rid, docIds]);
      await c.query('INSERT INTO round_coders (round_id, coder) SELECT $1, unnest($2::text[])', [rid, coders]);
      return rid;
    });
    return this.mustGet(id);
  }

  async close(id: number): Promise<Round> {
    const r = await this.mustGet(id);
    // Only an open round is closed: of two owners closing it at once, the second is told it is closed.
    const n = await this.pool.query("UPDATE rounds SET status = 'closed', closed_at = $1 WHERE id = $2 AND status = 'open'", [
      new Date().toISOString(),
      id,
    ]);
    if (n.rowCount === 0) throw roundClosed(r.name);
    return this.mustGet(id);
  }

  async list(): Promise<Round[]> {
    return this.withMembers((await this.pool.query<RoundRow>('SELECT * FROM rounds ORDER BY id DESC')).rows);
  }

  async get(id: number): Promise<Round | null> {
    // integer columns: an id beyond them is simply not there (not a database error).
    if (!Number.isSafeInteger(id) || id < -2147483648 || id > 2147483647) return null;
    const rows = (await this.pool.query<RoundRow>('SELECT * FROM rounds WHERE id = $1', [id])).rows;
    return (await this.withMembers(rows))[0] ?? null;
  }

  async mustGet(id: number): Promise<Round> {
    const r = await this.get(id);
    if (!r) throw noRound(id);
    return r;
  }

  /** Rows → rounds, fetching the members of all of them in two queries. */
  private async withMembers(rows: RoundRow[]): Promise<Round[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const docs = await this.pool.query<{ round_id: number; doc_id: string }>(
      'SELECT round_id, doc_id FROM round_documents WHERE round_id = ANY($1::int[]) ORDER BY doc_id COLLATE "C"',
      [ids],
    );
    const coders = await this.pool.query<{ round_id: number; coder: string }>(
      'SELECT round_id, coder FROM round_coders WHERE round_id = ANY($1::int[]) ORDER BY coder COLLATE "C"',
      [ids],
    );
    return rows.map((r) =>
      toRound(
        r,
        docs.rows.filter((d) => d.round_id === r.id).map((d) => d.doc_id),
        coders.rows.filter((c) => c.round_id === r.id).map((c) => c.coder),
      ),
    );
  }
}
