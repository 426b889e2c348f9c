import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { PgAccountStore } from '../src/backends/postgres/accounts.js';
import { PgAnnotationStore } from '../src/backends/postgres/annotations.js';
import { openPgPool, pgSchemaVersion } from '../src/backends/postgres/db.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from '../src/backends/postgres/migrations.js';
import type { AccountBackend } from '../src/backends/types.js';
import { ACCOUNT_FAILURE_LIMIT, ADDRESS_FAILURE_LIMIT } from '../src/http/accounts.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase, schemaVersion } from '../src/store/db.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/store/migrations.js';
import { UserStore, hashPassword, verifyPassword } from '../src/store/users.js';
import { TEST_BACKEND, type TestLibrary, startServerOnTestBackend } from './helpers/backends.js';
import { createTestDatabase } from './helpers/postgres.js';
import { runCli } from './helpers/process.js';
import type { TestServer } from './helpers/server.js';
import { paper } from './helpers/paper.js';

const TOKEN = 'correct-horse-battery-staple-9f3a';
const TEXT = '对口支援 counterpart support 𠀀援藏';
const PW = 'li-wei-password-对口';

let dir: string;
let library: TestLibrary;
let users: AccountBackend;
let engine: Engine;
let server: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'duikou-accounts-'));
  engine = new Engine();
  engine.addDocument(paper('d', TEXT, 'zh', { hash: 'h' }));
  const started = await startServerOnTestBackend(engine, { access: { auth: { token: TOKEN } } });
  server = started;
  library = started.library;
  users = library.accounts.users;
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function signIn(name: string, password: string, next = '/documents') {
  return fetch(`${server.url}/login`, { method: 'POST', body: new URLSearchParams({ name, password, next }), redirect: 'manual' });
}
const OLD_ANNOTATION = `INSERT INTO annotations (id, doc_id, start, "end", exact, colour, created_at, updated_at, text_hash, status, anchor_method)
  VALUES ('a1', 'd', 0, 4, '对口支援', '#ffd54f', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', 'h', 'anchored', 'created')`;
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
    const stored = await library.query<{ id_hash: string }>('SELECT id_hash FROM sessions');
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

  it('an expired session signs nobody in', async () => {
    const u = (await users.find('zhang'))!;
    const s = await users.startSession(u.id, Date.now() - 15 * 24 * 3600 * 1000);
    expect(await users.sessionUser(s.id)).toBeNull();
    const fresh = await users.startSession(u.id);
    expect((await users.sessionUser(fresh.id))?.name).toBe('zhang');
  });

  it('a new password ends every session of the account; a removed account signs nobody in', async () => {
    await users.add('zhao', 'coder', 'zhao-password-0001');
    const c = cookieOf(await signIn('zhao', 'zhao-password-0001'));
    expect((await fetch(`${server.url}/api/documents`, { headers: { cookie: c } })).status).toBe(200);
    await users.setPassword('ZHAO', 'zhao-password-0002');
    expect((await fetch(`${server.url}/api/documents`, { headers: { cookie: c } })).status).toBe(401);
    expect((await signIn('zhao', 'zhao-password-0001')).status).toBe(401);
    const again = cookieOf(await signIn('zhao', 'zhao-password-0002'));
    expect((await users.setRole('zhao', 'reader')).role).toBe('reader');
    expect(await (await fetch(`${server.url}/documents`, { headers: { cookie: again } })).text()).toContain('zhao · reader');
    expect((await users.remove('zhao')).name).toBe('zhao');
    expect((await fetch(`${server.url}/api/documents`, { headers: { cookie: again } })).status).toBe(401);
    await expect(users.remove('zhao')).rejects.toMatchObject({ code: 'not_found' });
    await expect(users.add('Li Wei', 'coder', PW)).rejects.toMatchObject({ code: 'user_exists' });
    await expect(users.add('x', 'admin', PW)).rejects.toMatchObject({ code: 'bad_role' });
    await expect(users.add('x', 'coder', 'short')).rejects.toMatchObject({ code: 'bad_password' });
  });

  it('keeps the implicit owner’s name for the annotations made with the token: no account may take it', async () => {
    const start = TEXT.indexOf('援藏');
    const made = await fetch(`${server.url}/api/annotations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ docId: 'd', start, end: start + '援藏'.length, note: 'the owner’s note' }),
    });
    expect(made.status).toBe(201);
    expect(((await made.json()) as { createdBy: string }).createdBy).toBe('owner');
    for (const name of ['owner', ' Owner ', 'OWNER', 'ｏｗｎｅｒ']) {
      await expect(users.add(name, 'coder', 'owner-password-1357'), name).rejects.toMatchObject({ code: 'bad_user', status: 400 });
    }
    const api = await fetch(`${server.url}/api/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'owner', role: 'coder', password: 'owner-password-1357' }),
    });
    expect(api.status).toBe(400);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('bad_user');
    expect((await users.list()).some((u) => u.name.toLowerCase() === 'owner')).toBe(false);
  });

  it('does not sign in a non-owner account named owner made before the name was reserved, nor keep its sessions', async () => {
    const hash = await hashPassword('legacy-password-1357');
    await library.exec(
      `INSERT INTO users (name, name_key, role, password_hash, created_at) VALUES ('Owner', 'owner', 'coder', '${hash}', '2024-01-01T00:00:00.000Z')`,
    );
    try {
      const legacy = (await users.find('Owner'))!;
      const session = await users.startSession(legacy.id);
      const login = await signIn('Owner', 'legacy-password-1357');
      expect(login.status).toBe(403);
      expect(login.headers.get('set-cookie')).toBeNull();
      const api = await fetch(`${server.url}/api/annotations`, {
        headers: { cookie: `duikou_session_${new URL(server.url).port}=${session.id}` },
      });
      expect(api.status).toBe(403);
      expect(((await api.json()) as { error: { code: string } }).error.code).toBe('reserved_name');
      // As an owner it passes: an owner may change every annotation anyway.
      await users.setRole('Owner', 'owner');
      expect((await signIn('Owner', 'legacy-password-1357')).status).toBe(303);
    } finally {
      await users.remove('Owner');
    }
  });

  it('of two instances or requests adding one name at once, exactly one succeeds', async () => {
    const both = await Promise.allSettled([
      users.add('Gao', 'coder', 'gao-password-0001'),
      users.add('gao', 'reader', 'gao-password-0002'),
    ]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = both.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: 'user_exists', status: 409 });
    expect((await users.list()).filter((u) => u.name.toLowerCase() === 'gao')).toHaveLength(1);
    await users.remove('gao');
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

describe('wrong tokens from scripts once accounts exist', () => {
  let own: TestServer & { library: TestLibrary };
  beforeAll(async () => {
    own = await startServerOnTestBackend(engine, { access: { auth: { token: TOKEN } } });
    await own.library.accounts.users.add('Qian', 'coder', 'qian-password-2468');
  });
  afterAll(() => own.close());

  it('are counted with the address’s failed sign-ins; past the limit refused, while the right token and sessions still work', async () => {
    const api = (headers: Record<string, string>) => fetch(`${own.url}/api/documents`, { headers });
    const session = cookieOf(
      await fetch(`${own.url}/login`, {
        method: 'POST',
        body: new URLSearchParams({ name: 'qian', password: 'qian-password-2468', next: '/' }),
        redirect: 'manual',
      }),
    );
    for (let i = 0; i < ADDRESS_FAILURE_LIMIT; i++) {
      const r = await api({ authorization: `Bearer wrong-guess-${i}` });
      expect(r.status).toBe(401);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
    const limited = await api({ authorization: 'Bearer wrong-guess-again' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    // A wrong token with a valid session is still a guess: it is not let through by the cookie.
    expect((await api({ authorization: 'Bearer wrong-guess-last', cookie: session })).status).toBe(429);
    expect((await api({ authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await api({ cookie: session })).status).toBe(200);
  });
});

describe('migration', () => {
  it.runIf(TEST_BACKEND === 'embedded')('gives annotations made before accounts to the implicit owner, keeping them', () => {
    const file = join(dir, 'old.db');
    const old = openDatabase(file, { migrations: MIGRATIONS.slice(0, 2) });
    old.prepare("INSERT INTO documents (id, text_hash, seen_at) VALUES ('d', 'h', 'now')").run();
    old.prepare(OLD_ANNOTATION).run();
    old.close();
    const db = openDatabase(file);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    const a = new AnnotationStore(db).get('a1')!;
    expect(a.exact).toBe('对口支援');
    expect(a.createdBy).toBe('owner');
    expect(a.updatedBy).toBe('owner');
    db.close();
  });

  it.runIf(TEST_BACKEND === 'postgres')(
    'gives annotations made before accounts to the implicit owner, keeping them (PostgreSQL)',
    async () => {
      const tdb = await createTestDatabase(process.env.DUIKOU_TEST_DATABASE_URL!);
      try {
        const old = await openPgPool({ url: tdb.url, migrations: PG_MIGRATIONS.slice(0, 2) });
        await old.query("INSERT INTO documents (id, text_hash, seen_at) VALUES ('d', 'h', 'now')");
        await old.query(OLD_ANNOTATION);
        await old.end();
        const s = await PgAnnotationStore.open({ url: tdb.url, poolSize: 2 });
        try {
          expect(await pgSchemaVersion(s.pool)).toBe(PG_SCHEMA_VERSION);
          expect(await s.get('a1')).toMatchObject({ exact: '对口支援', createdBy: 'owner', updatedBy: 'owner' });
        } finally {
          await s.close();
        }
      } finally {
        await tdb.drop();
      }
    },
  );
});

describe('npx duikou user', () => {
  it('adds (password from stdin, never argv), lists, changes the password of and removes an account', async () => {
    const data = mkdtempSync(join(tmpdir(), 'duikou-cli-users-'));
    // On a lab server the command manages the accounts in PostgreSQL (a fresh database: no accounts yet).
    const tdb = TEST_BACKEND === 'postgres' ? await createTestDatabase(process.env.DUIKOU_TEST_DATABASE_URL!) : undefined;
    try {
      const env: Record<string, string> = { DUIKOU_DATA: data, ...(tdb && { DUIKOU_DATABASE_URL: tdb.url }) };
      const add = runCli(['user', 'add', '王芳', '--role', 'owner'], env, 'wang-fang-secret-1\n');
      expect(add.stderr).toBe('');
      expect(add.stdout).toContain('Added 王芳 (owner)');
      expect(runCli(['user', 'add', 'short', '--role', 'coder'], env, 'short\n').status).toBe(2);
      expect(runCli(['user', 'add', 'x', '--role', 'admin'], env, 'long-enough-pass\n').status).toBe(2);
      expect(runCli(['user', 'list'], env).stdout).toMatch(/^王芳\towner\t/m);
      expect(runCli(['user', 'passwd', '王芳'], env, 'wang-fang-secret-2\n').status).toBe(0);
      if (tdb) {
        const pool = await openPgPool({ url: tdb.url, poolSize: 1 });
        const u = new PgAccountStore(pool);
        expect(await u.authenticate('王芳', 'wang-fang-secret-2')).not.toBeNull();
        expect(await u.authenticate('王芳', 'wang-fang-secret-1')).toBeNull();
        await pool.end();
      } else {
        const db = openDatabase(join(data, 'duikou.db'));
        const u = new UserStore(db);
        expect(await u.authenticate('王芳', 'wang-fang-secret-2')).not.toBeNull();
        expect(await u.authenticate('王芳', 'wang-fang-secret-1')).toBeNull();
        db.close();
      }
      expect(runCli(['user', 'remove', '王芳'], env).stdout).toContain('Removed 王芳');
      expect(runCli(['user', 'list'], env).stdout).toContain('No accounts');
    } finally {
      rmSync(data, { recursive: true, force: true });
      await tdb?.drop();
    }
  }, 120_000); // six command-line processes, each loading TypeScript: slower than one test's default
});
