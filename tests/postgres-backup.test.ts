/**
 * `duikou backup` in the lab-server mode: pg_dump of the shared database,
 * restored with pg_restore into an empty database, gives the same library
 * (by the W3C export's checksum); the password never appears in the output.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { libraryDigest } from '../src/backends/migrate.js';
import { pgProgram } from '../src/backends/postgres/backup.js';
import { PgAnnotationStore } from '../src/backends/postgres/annotations.js';
import { runCli } from './helpers/process.js';
import { type TestDatabase, createTestDatabase, testDatabaseUrl } from './helpers/postgres.js';

const pgServer = testDatabaseUrl();

describe.skipIf(!pgServer)('duikou backup on a lab server', () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    source = await createTestDatabase(pgServer as string);
    target = await createTestDatabase(pgServer as string);
    dir = mkdtempSync(join(tmpdir(), 'duikou-pgbackup-'));
  });
  afterAll(async () => {
    await source?.drop();
    await target?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a pg_dump archive that restores to the same library', async () => {
    const store = await PgAnnotationStore.open({ url: source.url });
    const text = 'Counterpart support 对口支援 with 𠀀 outside the BMP, and more text after it.';
    const doc = { text, hash: 'h1' };
    for (const [i, word] of ['对口支援', '𠀀', 'Counterpart'].entries()) {
      const start = text.indexOf(word);
      await store.create({ docId: 'd1', start, end: start + word.length, exact: word, tags: [`t${i}`, '援藏/教育'], note: `n${i}` }, doc);
    }
    const before = await libraryDigest(store);
    await store.close();
    expect(before.annotations).toBe(3);

    const file = join(dir, 'lab.dump');
    const r = runCli(['backup', file], { DUIKOU_DATABASE_URL: source.url });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Backed up the lab server's database \(3 annotations, \d+ tables\) to .*lab\.dump with pg_dump/);
    // A second backup to the same file needs --force, as in the embedded mode.
    expect(runCli(['backup', file], { DUIKOU_DATABASE_URL: source.url }).status).toBe(2);

    execFileSync(pgProgram('pg_restore'), ['--no-owner', `--dbname=${target.url}`, file]);
    const restored = await PgAnnotationStore.open({ url: target.url });
    try {
      expect(await libraryDigest(restored)).toEqual(before);
    } finally {
      await restored.close();
    }
  }, 120_000);

  it('names an unreachable database without its password', () => {
    const r = runCli(['backup', join(dir, 'never.dump')], { DUIKOU_DATABASE_URL: 'postgres://duikou:hunter2@127.0.0.1:1/duikou' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/postgres:\/\/duikou:\*\*\*@127\.0\.0\.1:1\/duikou/);
    expect(r.stderr + r.stdout).not.toContain('hunter2');
  }, 60_000);
});
