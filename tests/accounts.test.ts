import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { ACCOUNT_FAILURE_LIMIT } from '../src/http/accounts.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase, schemaVersion } from '../src/store/db.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/store/migrations.js';
import { UserStore, hashPassword, verifyPassword } from '../src/store/users.js';
import { runCli } from './helpers/process.js';
import { type TestServer, startServer } from './helpers/server.js';

const TOKEN = 'correct-horse-battery-staple-9f3a';
const TEXT = '对口支援 counterpart support 𠀀援藏';
const PW = 'li-wei-password-对口';

let dir: string;
let store: AnnotationStore;
let users: UserStore;
let engine: Engine;
let server: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'duikou-accounts-'));
  engine = new Engine();
  engine.addDocument({ id: 'd', text: TEXT, hash: 'h', file: 'd.txt', title: 'd', authors: [], year: null, venue: null, lang: 'zh' });
  store = new AnnotationStore(openDatabase(join(dir, 'duikou.db')));
  users = new UserStore(store.db);
  server = await startServer({ engine, store, access: { auth: { token: TOKEN } } });
});
afterAll(async () => {
  await server.close();
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function signIn(name: string, password: string, next = '/documents') {
  return fetch(`${server.url}/login`, { method: 'POST', body: new URLSearchParams({ name, password, next }), redirect: 'manual' });
}
const cookieOf = (r: Response) => (r.headers.get('set-cookie') ?? '').split(';')[0]!;

describe('passwords', () => {
  it('hashes with scrypt and a salt per hash, and verifies only the right password', async () => {
    const a = await hashPassword(PW);
    const b = await hashPassword(PW);
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(PW);
    expect(await verifyPassword(PW, a)).toBe(true);
    expect(await verifyPassword(`${PW}x`, a)).toBe(false);
    expect(await verifyPassword(PW, 'plain')).toBe(false);
  });
});

describe('with no account: as before, the token signs in the one owner', () => {
  it('needs the token; with it everything works', async () => {
    expect((await fetch(`${server.url}/api/documents`)).status).toBe(401);
    const r = await fetch(`${server.url}/api/annotations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ docId: 'd', start: TEXT.indexOf('援藏'), end: TEXT.indexOf('援藏') + 2, tags: ['援藏'] }),
    });
    expect(r.status).toBe(201);
    expect(((await r.json()) as { createdBy: string }).createdBy).toBe('owner');
  });
});

describe('with accounts', () => {
  beforeAll(async () => {
    await users.add('Li Wei', 'coder', PW);
    await users.add('zhang', 'coder', 'zhang-password-1234');
  });

  it('signs in with name and password into an HttpOnly SameSite=Strict session cookie whose id is stored only hashed', async () => {
    const r = await signIn('li wei', PW);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/documents');
    const set = r.headers.get('set-cookie') ?? '';
    expect(set).toMatch(/HttpOnly/i);
    expect(set).toMatch(/SameSite=Strict/i);
    expect(set).toMatch(/Expires=/i);
    const id = decodeURIComponent(cookieOf(r).split('=')[1]!);
    const stored = store.db.prepare('SELECT id_hash FROM sessions').all() as { id_hash: string }[];
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.some((s) => s.id_hash === id)).toBe(false);
    const me = await fetch(`${server.url}/documents`, { headers: { cookie: cookieOf(r) } });
    expect(me.status).toBe(200);
    expect(await me.text()).toContain('Li Wei · coder');
  });

  it('refuses a wrong password, an unknown name, and the token cookie once accounts exist', async () => {
    expect((await signIn('Li Wei', 'wrong-password!!')).status).toBe(401);
    expect((await signIn('nobody', PW)).status).toBe(401);
    const page = await fetch(`${server.url}/documents`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/login?next=%2Fdocuments');
    expect((await fetch(`${server.url}/api/documents`)).status).toBe(401);
    const login = await (await fetch(`${server.url}/login`)).text();
    expect(login).toContain('name="password"');
    expect(login).not.toContain('name="token"');
  });

  it('still takes the access token from scripts, as the owner', async () => {
    const r = await fetch(`${server.url}/api/documents`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(200);
  });

  it('signs out: the session ends on the server', async () => {
    const c = cookieOf(await signIn('zhang', 'zhang-password-1234'));
    expect((await fetch(`${server.url}/api/documents`, { headers: { cookie: c } })).status).toBe(200);
    await fetch(`${server.url}/logout`, { method: 'POST', headers: { cookie: c }, redirect: 'manual' });
    expect((await fetch(`${server.url}/api/documents`, { headers: { cookie: c } })).status).toBe(401);
  });

  it('an expired session signs nobody in', () => {
    const u = users.find('zhang')!;
    const s = users.startSession(u.id, Date.now() - 15 * 24 * 3600 * 1000);
    expect(users.sessionUser(s.id)).toBeNull();
  });

  it('limits failed sign-ins per account (acct:) without touching other accounts, and a success is not counted', async () => {
    // Successes never count.
    for (let i = 0; i < ACCOUNT_FAILURE_LIMIT + 2; i++) expect((await signIn('zhang', 'zhang-password-1234')).status).toBe(303);
    await users.add('chen', 'reader', 'chen-password-5678');
    for (let i = 0; i < ACCOUNT_FAILURE_LIMIT; i++) expect((await signIn('chen', `guess-number-${i}`)).status).toBe(401);
    const limited = await signIn('CHEN', 'chen-password-5678');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(300);
    expect((await signIn('zhang', 'zhang-password-1234')).status).toBe(303);
  });
});

describe('migration', () => {
  it('gives annotations made before accounts to the implicit owner, keeping them', () => {
    const file = join(dir, 'old.db');
    const old = openDatabase(file, { migrations: MIGRATIONS.slice(0, 2) });
    old.prepare("INSERT INTO documents (id, text_hash, seen_at) VALUES ('d', 'h', 'now')").run();
    old
      .prepare(
        `INSERT INTO annotations (id, doc_id, start, "end", exact, colour, created_at, updated_at, text_hash, status, anchor_method)
         VALUES ('a1', 'd', 0, 4, '对口支援', '#ffd54f', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', 'h', 'anchored', 'created')`,
      )
      .run();
    old.close();
    const db = openDatabase(file);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    const a = new AnnotationStore(db).get('a1')!;
    expect(a.exact).toBe('对口支援');
    expect(a.createdBy).toBe('owner');
    expect(a.updatedBy).toBe('owner');
    db.close();
  });
});

describe('npx duikou user', () => {
  it('adds (password from stdin, never argv), lists, changes the password of and removes an account', async () => {
    const data = mkdtempSync(join(tmpdir(), 'duikou-cli-users-'));
    try {
      const env = { DUIKOU_DATA: data };
      const add = runCli(['user', 'add', '王芳', '--role', 'owner'], env, 'wang-fang-secret-1\n');
      expect(add.stderr).toBe('');
      expect(add.stdout).toContain('Added 王芳 (owner)');
      expect(runCli(['user', 'add', 'short', '--role', 'coder'], env, 'short\n').status).toBe(2);
      expect(runCli(['user', 'add', 'x', '--role', 'admin'], env, 'long-enough-pass\n').status).toBe(2);
      expect(runCli(['user', 'list'], env).stdout).toMatch(/^王芳\towner\t/m);
      expect(runCli(['user', 'passwd', '王芳'], env, 'wang-fang-secret-2\n').status).toBe(0);
      const db = openDatabase(join(data, 'duikou.db'));
      const u = new UserStore(db);
      expect(await u.authenticate('王芳', 'wang-fang-secret-2')).not.toBeNull();
      expect(await u.authenticate('王芳', 'wang-fang-secret-1')).toBeNull();
      db.close();
      expect(runCli(['user', 'remove', '王芳'], env).stdout).toContain('Removed 王芳');
      expect(runCli(['user', 'list'], env).stdout).toContain('No accounts');
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});
