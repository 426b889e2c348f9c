/** Moving a library from SQLite to PostgreSQL and back, checked by counts and the W3C export's checksum. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedAnnotationBackend } from '../src/backends/embedded/annotations.js';
import { copyLibrary, libraryDigest } from '../src/backends/migrate.js';
import { PgAnnotationStore } from '../src/backends/postgres/annotations.js';
import { textHash } from '../src/store/anchor.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { type TestDatabase, createTestDatabase, testDatabaseUrl } from './helpers/postgres.js';
import { runCli } from './helpers/process.js';

const server = testDatabaseUrl();
const TEXT = '对口支援 counterpart support 𠀀 援藏干部. Path dependence, 路径依赖.';
const DOC = { text: TEXT, hash: textHash(TEXT) };
const at = (s: string) => ({ start: TEXT.indexOf(s), end: TEXT.indexOf(s) + s.length });
const embedded = (dir: string) => new EmbeddedAnnotationBackend(new AnnotationStore(openDatabase(join(dir, 'duikou.db'))));

describe.skipIf(!server)('migrating a library', () => {
  let dir: string;
  let tdb: TestDatabase;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'duikou-migrate-'));
    tdb = await createTestDatabase(server as string);
  });
  afterEach(async () => {
    await tdb.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies SQLite → PostgreSQL → a new folder with the same counts and W3C export checksum', async () => {
    const src = embedded(join(dir, 'a'));
    await src.create({ docId: 'p1', ...at('对口支援'), tags: ['援藏/教育', 'China'], note: '路径 note' }, DOC);
    await src.create({ docId: 'p1', ...at('𠀀 援藏'), colour: '#0af' }, DOC);
    await src.create({ docId: 'p2', ...at('Path dependence'), tags: ['theory'] }, DOC);
    await src.createTag({ name: 'unused', colour: '#f00', description: '还没用' });
    await src.orphanDocument('p2');
    const before = await libraryDigest(src);
    expect(before).toMatchObject({ annotations: 3, tags: 5 });

    const pgLib = await PgAnnotationStore.open({ url: tdb.url });
    expect(await copyLibrary(src, pgLib)).toEqual(before);
    expect((await pgLib.list({ orphaned: true })).map((a) => a.docId)).toEqual(['p2']);

    const back = embedded(join(dir, 'b'));
    expect(await copyLibrary(pgLib, back)).toEqual(before);
    expect(await back.list()).toEqual(await src.list());

    // Into a library that is not empty: refused, nothing written.
    await expect(copyLibrary(src, back)).rejects.toMatchObject({ code: 'target_not_empty' });
    expect(await libraryDigest(back)).toEqual(before);
    await Promise.all([src.close(), back.close(), pgLib.close()]);
  });
});

describe.skipIf(!server)('npx duikou migrate', () => {
  it('copies a data folder into PostgreSQL and back, printing the checksum', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duikou-migrate-cli-'));
    const tdb = await createTestDatabase(server as string);
    try {
      const src = embedded(join(dir, 'a'));
      await src.create({ docId: 'p1', ...at('援藏干部'), tags: ['援藏'], note: '笔记' }, DOC);
      const { sha256 } = await libraryDigest(src);
      await src.close();
      const there = runCli(['migrate', '--to', tdb.url], { DUIKOU_DATA: join(dir, 'a'), DUIKOU_DATABASE_URL: '' });
      expect(there.stderr).toBe('');
      expect(there.stdout).toContain(`Copied 1 annotations and 1 tags`);
      expect(there.stdout).toContain(sha256);
      const back = runCli(['migrate', '--to', join(dir, 'b')], { DUIKOU_DATABASE_URL: tdb.url });
      expect(back.stdout).toContain(sha256);
      const copy = embedded(join(dir, 'b'));
      expect((await libraryDigest(copy)).sha256).toBe(sha256);
      await copy.close();
      const again = runCli(['migrate', '--to', tdb.url], { DUIKOU_DATA: join(dir, 'a'), DUIKOU_DATABASE_URL: '' });
      expect(again.status).not.toBe(0);
      expect(again.stderr).toMatch(/not empty|不为空/);
    } finally {
      await tdb.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the library checksum', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'duikou-digest-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('the checksum notices a changed note', async () => {
    const a = embedded(join(dir, 'a'));
    const x = await a.create({ docId: 'p1', ...at('对口支援'), note: 'n' }, DOC);
    const before = await libraryDigest(a);
    await a.update(x.id, { note: 'N' });
    expect((await libraryDigest(a)).sha256).not.toBe(before.sha256);
    await a.close();
  });
});
