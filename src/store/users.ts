/**
 * Researcher accounts and their sign-in sessions, in the same SQLite database
 * as the annotations. Passwords are hashed with scrypt (Node's crypto, a
 * memory-hard KDF) and a random salt per user; they are compared in constant
 * time. Session ids are random 32-byte strings of which only the SHA-256 is
 * stored, so a copy of duikou.db signs nobody in.
 *
 * With no account defined duikou runs as before, with one implicit owner
 * ({@link IMPLICIT_OWNER}), to whom annotations made then belong.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { UserInputError } from '../core/errors.js';
import type { Database } from './db.js';

/** What an account may do: owner (users, codebook, rounds) ⊃ coder (annotates) ⊃ reader (searches and reads). */
export type Role = 'owner' | 'coder' | 'reader';

export const ROLES: readonly Role[] = ['owner', 'coder', 'reader'];

/** The name annotations are attributed to when no accounts exist (and for scripts using the access token). */
export const IMPLICIT_OWNER = 'owner';

/** Who is making a request. */
export interface Viewer {
  name: string;
  role: Role;
}

/** An account as listed (never with its hash). */
export interface User {
  id: number;
  name: string;
  role: Role;
  createdAt: string;
}

/** How long a session lasts after sign-in. */
export const SESSION_TTL_MS = 14 * 24 * 60 * 60 * 1000;

/** Shortest password accepted. */
export const MIN_PASSWORD_LENGTH = 10;
const MAX_PASSWORD_LENGTH = 1024;
const MAX_NAME_LENGTH = 64;

// scrypt cost: N = 2^15 takes ~50-100 ms and 32 MiB, OWASP's recommended minimum for scrypt.
const SCRYPT = { N: 1 << 15, r: 8, p: 1, keyLen: 32 };
const maxmem = (N: number, r: number) => 256 * N * r;

function scryptAsync(password: string, salt: Buffer, N: number, r: number, p: number, keyLen: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    // Runs in libuv's thread pool: signing in never blocks the event loop.
    scrypt(password.normalize('NFC'), salt, keyLen, { N, r, p, maxmem: maxmem(N, r) }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Hash a password: `scrypt$N$r$p$salt$hash`, salt and hash base64url. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keyLen);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Whether `password` matches `stored` (constant-time comparison of the derived keys). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  const key = await scryptAsync(password, salt, N, r, p, expected.length);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash no password matches, checked for unknown names so a wrong name takes as long as a wrong password. */
let dummyHash: Promise<string> | undefined;

const nameKey = (name: string) => name.normalize('NFKC').toLowerCase();

/** The same timing for an unknown name as for a wrong password: verify against a hash no password matches. */
async function verifyNobody(password: string): Promise<void> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(password, await dummyHash);
}

/**
 * Whether a name is the implicit owner's, in any letter case or width: the annotations made with
 * the token, or before accounts, are attributed to it, and an account of that name would be taken
 * for their author and could change them.
 */
export function isImplicitOwnersName(name: string): boolean {
  return nameKey(name.trim()) === nameKey(IMPLICIT_OWNER);
}

/** A user name: 1–64 characters, no spaces at the ends, no control characters, no `/`, not {@link IMPLICIT_OWNER}. */
export function validateUserName(raw: unknown): string {
  if (typeof raw !== 'string') throw new UserInputError('bad_user', 'A user name must be text (用户名必须是文本)');
  const name = raw.trim();
  if (name === '' || [...name].length > MAX_NAME_LENGTH || /[\p{Cc}\p{Cf}\u2028\u2029/\\]/u.test(name)) {
    throw new UserInputError(
      'bad_user',
      `A user name must be 1–${MAX_NAME_LENGTH} characters without control characters or slashes (用户名无效)`,
    );
  }
  if (isImplicitOwnersName(name)) {
    throw new UserInputError(
      'bad_user',
      `"${IMPLICIT_OWNER}" names the annotations made with the access token or before accounts; choose another name (此用户名已保留)`,
    );
  }
  return name;
}

function validateRole(raw: unknown): Role {
  if (typeof raw !== 'string' || !ROLES.includes(raw as Role)) {
    throw new UserInputError('bad_role', 'The role must be owner, coder or reader (角色须为 owner、coder 或 reader)');
  }
  return raw as Role;
}

function validatePassword(raw: unknown): string {
  if (typeof raw !== 'string' || [...raw].length < MIN_PASSWORD_LENGTH || raw.length > MAX_PASSWORD_LENGTH) {
    throw new UserInputError(
      'bad_password',
      `A password must have at least ${MIN_PASSWORD_LENGTH} characters (密码至少 ${MIN_PASSWORD_LENGTH} 个字符)`,
    );
  }
  return raw;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * What every account store shares, so the embedded and the PostgreSQL ones
 * validate, key, hash and time alike.
 */
export const userRules = { nameKey, validateRole, validatePassword, sha256, verifyNobody };

/** An account row as both stores read it. */
export interface UserRow {
  id: number;
  name: string;
  role: Role;
  password_hash: string;
  created_at: string;
}

/** The account of a row (never with its hash). */
export const toUser = (r: UserRow): User => ({ id: r.id, name: r.name, role: r.role, createdAt: r.created_at });

/** Accounts and sessions over one better-sqlite3 connection (see `openDatabase`). */
export class UserStore {
  constructor(readonly db: Database) {}

  /** Whether any account exists: then everyone signs in with a name and password. */
  hasUsers(): boolean {
    return this.db.prepare('SELECT 1 FROM users LIMIT 1').get() !== undefined;
  }

  list(): User[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY name_key').all() as UserRow[]).map(toUser);
  }

  /** The account of this name (any case), or null. */
  find(name: string): User | null {
    const row = this.row(name);
    return row ? toUser(row) : null;
  }

  private row(name: string): UserRow | undefined {
    return this.db.prepare('SELECT * FROM users WHERE name_key = ?').get(nameKey(name.trim())) as UserRow | undefined;
  }

  /**
   * Add an account.
   * @throws UserInputError bad_user | bad_role | bad_password | user_exists (409)
   */
  async add(name: unknown, role: unknown, password: unknown): Promise<User> {
    const n = validateUserName(name);
    const r = validateRole(role);
    const hash = await hashPassword(validatePassword(password));
    if (this.row(n)) throw new UserInputError('user_exists', `User "${n}" already exists (用户已存在)`, 409);
    this.db
      .prepare('INSERT INTO users (name, name_key, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(n, nameKey(n), r, hash, new Date().toISOString());
    return this.find(n)!;
  }

  /** Set a new password; every session of the account ends. */
  async setPassword(name: string, password: unknown): Promise<void> {
    const row = this.mustRow(name);
    const hash = await hashPassword(validatePassword(password));
    this.db.transaction(() => {
      this.db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(hash, row.id);
      this.db.prepare('DELETE FROM sessions WHERE user_id = ?').run(row.id);
    })();
  }

  /** Change an account's role. */
  setRole(name: string, role: unknown): User {
    const row = this.mustRow(name);
    this.db.prepare('UPDATE users SET role = ? WHERE id = ?').run(validateRole(role), row.id);
    return this.find(row.name)!;
  }

  /** Remove an account and its sessions; its annotations keep its name. */
  remove(name: string): User {
    const row = this.mustRow(name);
    this.db.prepare('DELETE FROM users WHERE id = ?').run(row.id);
    return toUser(row);
  }

  private mustRow(name: string): UserRow {
    const row = this.row(name);
    if (!row) throw new UserInputError('not_found', `No user "${name}" (未找到该用户)`, 404);
    return row;
  }

  /** The account if `password` is its password, else null (the same time either way). */
  async authenticate(name: string, password: string): Promise<User | null> {
    const row = typeof name === 'string' ? this.row(name) : undefined;
    if (!row) {
      await verifyNobody(password);
      return null;
    }
    return (await verifyPassword(password, row.password_hash)) ? toUser(row) : null;
  }

  /** Start a session: returns the id for the cookie (only its hash is stored). */
  startSession(userId: number, now = Date.now()): { id: string; expires: Date } {
    const id = randomBytes(32).toString('base64url');
    const expires = new Date(now + SESSION_TTL_MS);
    this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(new Date(now).toISOString());
    this.db
      .prepare('INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)')
      .run(sha256(id), userId, new Date(now).toISOString(), expires.toISOString());
    return { id, expires };
  }

  /** The signed-in account of a session id, or null when unknown or expired. */
  sessionUser(id: string, now = Date.now()): User | null {
    const row = this.db
      .prepare('SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ? AND s.expires_at > ?')
      .get(sha256(id), new Date(now).toISOString()) as UserRow | undefined;
    return row ? toUser(row) : null;
  }

  endSession(id: string): void {
    this.db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(sha256(id));
  }
}
