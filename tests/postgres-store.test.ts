/**
 * What only the PostgreSQL store has: its migration table, choosing it by
 * setting, and change notifications between app instances. (Its behaviour as a
 * store runs in store-annotations.test.ts, on both backends.)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAnnotationBackend } from '../src/backends/open.js';
import { PgAnnotationStore } from '../src/backends/postgres/annotations.js';
import type { ChangeNotice } from '../src/backends/postgres/change-feed.js';
import { pgMigrate, pgOptionsFromSettings, pgSchemaVersion } from '../src/backends/postgres/db.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from '../src/backends/postgres/migrations.js';
import { textHash } from '../src/store/anchor.js';
import { type TestDatabase, createTestDatabase, testDatabaseUrl, testPool } from './helpers/postgres.js';

const TEXT = '对口支援 counterpart support 𠀀 援藏干部';
const DOC = { text: TEXT, hash: textHash(TEXT) };
const at = (s: string) => ({ start: TEXT.indexOf(s), end: TEXT.indexOf(s) + s.length });

describe('lab-server settings', () => {
  it('are off without DUIKOU_DATABASE_URL, and check the URL and numbers', () => {
    expect(pgOptionsFromSettings({})).toBeUndefined();
    expect(pgOptionsFromSettings({ DUIKOU_DATABASE_URL: 'postgres://u:p@127.0.0.1:5/d' })).toEqual({
      url: 'postgres://u:p@127.0.0.1:5/d',
      poolSize: 10,
      statementTimeoutMs: 30_000,
    });
    expect(() => pgOptionsFromSettings({ DUIKOU_DATABASE_URL: 'mysql://u:secret@h/d' })).toThrow(/postgres:\/\/.*\*\*\*/);
    expect(() => pgOptionsFromSettings({ DUIKOU_DATABASE_URL: 'postgres://h/d', DUIKOU_DATABASE_POOL_SIZE: '0' })).toThrow(/POOL_SIZE/);
    expect(() => pgOptionsFromSettings({ DUIKOU_DATABASE_URL: 'postgres://h/d', DUIKOU_STATEMENT_TIMEOUT_MS: '1.5' })).toThrow(/TIMEOUT/);
  });

  it('without a URL the embedded SQLite store is used, in the data folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duikou-backend-'));
    try {
      const b = await openAnnotationBackend({ DUIKOU_DATA: dir });
      expect(b.kind).toBe('embedded');
      await b.create({ docId: 'd', ...at('对口支援') }, DOC);
      expect(await b.list()).toHaveLength(1);
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the web app stops with one line when the database cannot be reached, never falling back to SQLite', () => {
    const dir = mkdtempSync(join(tmpdir(), 'duikou-refuse-'));
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: {
          ...process.env,
          DUIKOU_DATA: dir,
          DUIKOU_CORPUS: dir,
          DUIKOU_AUTH: 'none',
          PORT: '0',
          DUIKOU_DATABASE_URL: 'postgres://u:secret@127.0.0.1:1/d',
        },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /cannot serve from PostgreSQL: cannot reach the PostgreSQL server at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/d/,
      );
      expect(r.stderr).not.toContain('secret');
      expect(existsSync(join(dir, 'duikou.db'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the server, without its password, when it cannot be reached', async () => {
    await expect(PgAnnotationStore.open({ url: 'postgres://duikou:hunter2@127.0.0.1:1/duikou' })).rejects.toThrow(
      /cannot reach the PostgreSQL server at postgres:\/\/duikou:\*\*\*@127\.0\.0\.1:1\/duikou/,
    );
  });
});

const server = testDatabaseUrl();

describe.skipIf(!server)('the PostgreSQL store', () => {
  let tdb: TestDatabase;
  beforeEach(async () => {
    tdb = await createTestDatabase(server as string);
  });
  afterEach(async () => {
    await tdb.drop();
  });

  it('is chosen by DUIKOU_DATABASE_URL and records its migrations in a table', async () => {
    const b = await openAnnotationBackend({ DUIKOU_DATABASE_URL: tdb.url, DUIKOU_DATABASE_POOL_SIZE: '2' });
    expect(b.kind).toBe('postgres');
    const pool = (b as PgAnnotationStore).pool;
    const rows = (await pool.query('SELECT version, description FROM duikou_migrations ORDER BY version')).rows;
    expect(rows).toEqual(PG_MIGRATIONS.map((m, i) => ({ version: i + 1, description: m.description })));
    expect(await pgSchemaVersion(pool)).toBe(PG_SCHEMA_VERSION);
    await b.close();
  });

  it('upgrades an older schema in place, keeping its rows, and refuses a newer one untouched', async () => {
    const pool = testPool(tdb.url);
    try {
      expect(await pgMigrate(pool, PG_MIGRATIONS.slice(0, 1))).toBe(1);
      await pool.query(`INSERT INTO documents (id, text_hash, seen_at) VALUES ('old', 'h', '2024-01-01T00:00:00.000Z')`);
      const s = await PgAnnotationStore.open({ url: tdb.url });
      expect(await s.knownDocuments()).toEqual([{ id: 'old', textHash: 'h', seenAt: '2024-01-01T00:00:00.000Z', removedAt: null }]);
      const a = await s.create({ docId: 'old', ...at('援藏干部'), tags: ['援藏'] }, DOC);
      await s.close();
      // Opening again changes nothing.
      const again = await PgAnnotationStore.open({ url: tdb.url });
      expect(await again.get(a.id)).toEqual(a);
      await again.close();
      // A newer schema (from a later duikou) is refused, and left as it was.
      await pool.query(`INSERT INTO duikou_migrations (version, description) VALUES (99, 'from the future')`);
      await expect(PgAnnotationStore.open({ url: tdb.url })).rejects.toThrow(/newer than this duikou/);
      expect((await pool.query('SELECT count(*)::int AS n FROM annotations')).rows[0]).toEqual({ n: 1 });
    } finally {
      await pool.end();
    }
  });

  it('rolls a failing migration back as a whole', async () => {
    const pool = testPool(tdb.url);
    try {
      const broken = [...PG_MIGRATIONS, { description: 'broken', up: 'CREATE TABLE half (x int); SELECT no_such_function();' }];
      await expect(pgMigrate(pool, broken)).rejects.toThrow(`migration ${PG_MIGRATIONS.length + 1} (broken) failed`);
      expect(await pgSchemaVersion(pool)).toBe(PG_SCHEMA_VERSION);
      expect((await pool.query(`SELECT to_regclass('half') AS t`)).rows[0]).toEqual({ t: null });
    } finally {
      await pool.end();
    }
  });

  it('tells another instance about a committed change within a second, and never about a refused one', async () => {
    const one = await PgAnnotationStore.open({ url: tdb.url, poolSize: 2 });
    const two = await PgAnnotationStore.open({ url: tdb.url, poolSize: 2 });
    const seen: ChangeNotice[] = [];
    const stop = await two.listen((n) => seen.push(n));
    try {
      await expect(one.create({ docId: 'd', ...at('对口支援'), colour: 'red' }, DOC)).rejects.toThrow();
      const t0 = Date.now();
      const a = await one.create({ docId: 'd', ...at('𠀀 援藏'), tags: ['援藏'] }, DOC);
      await expect.poll(() => seen.length, { timeout: 1000, interval: 10 }).toBe(1);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(seen[0]).toEqual({ what: 'annotations', docId: 'd' });
      expect(await two.get(a.id)).toEqual(a);
      expect(a.exact).toBe('𠀀 援藏');
    } finally {
      await stop();
      await one.close();
      await two.close();
    }
  });

  it("keeps each annotation's coder, and a restored one's coders and merge record", async () => {
    const s = await PgAnnotationStore.open({ url: tdb.url });
    try {
      const a = await s.create({ docId: 'd', ...at('对口支援') }, DOC, 'li');
      expect(a).toMatchObject({ createdBy: 'li', updatedBy: 'li', mergedFrom: [] });
      expect(await s.update(a.id, { note: 'n' }, undefined, 'wang')).toMatchObject({ createdBy: 'li', updatedBy: 'wang' });
      const merged = [{ id: 'x', coder: 'li', start: 0, end: 4, exact: '对口支援', tags: [], note: '' }];
      const { id: _id, ...rest } = a;
      await s.restore({ annotations: [{ ...rest, id: 'restored', createdBy: 'zhao', mergedFrom: merged }], tags: [] });
      expect(await s.get('restored')).toMatchObject({ createdBy: 'zhao', updatedBy: 'li', mergedFrom: merged });
    } finally {
      await s.close();
    }
  });

  it('serialises writers from two instances: no tag is lost or doubled', async () => {
    const one = await PgAnnotationStore.open({ url: tdb.url, poolSize: 4 });
    const two = await PgAnnotationStore.open({ url: tdb.url, poolSize: 4 });
    try {
      const writes = [];
      for (let i = 0; i < 20; i++) {
        const s = i % 2 ? one : two;
        writes.push(s.create({ docId: 'd', ...at('counterpart'), tags: ['shared', `shared/${i % 3}`, `own/${i}`] }, DOC));
      }
      await Promise.all(writes);
      const tags = Object.fromEntries((await one.listTags()).map((t) => [t.name, t.totalCount]));
      expect(tags.shared).toBe(20);
      expect(tags.own).toBe(20);
      expect(Object.keys(tags)).toHaveLength(2 + 3 + 20);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
