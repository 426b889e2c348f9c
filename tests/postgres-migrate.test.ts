/** Moving a library from SQLite to PostgreSQL and back, checked by counts and the W3C export's checksum. */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedAnnotationBackend } from '../src/backends/embedded/annotations.js';
import { copyLibrary, copyWholeLibrary, libraryDigest, papersDigest } from '../src/backends/migrate.js';
import { PgAnnotationStore } from '../src/backends/postgres/annotations.js';
import { textHash } from '../src/store/anchor.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { type TestDatabase, createTestDatabase, testDatabaseUrl } from './helpers/postgres.js';
import { type ServerProcess, runCli, startServerProcess, stopProcess } from './helpers/process.js';
import { copySample } from './helpers/sample.js';
import { folderShelf, pgShelf } from '../src/backends/papers.js';
import { PgSearchBackend } from '../src/backends/postgres/search.js';
import { loadLibrary, resolveLibrary } from '../src/library/library.js';
import { emptyGlossary } from '../src/pipeline/glossary.js';
import { prepareDocument } from '../src/pipeline/prepare.js';

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
      // An empty corpus folder: this test is about the annotations (the papers' copy is tested below).
      mkdirSync(join(dir, 'none'));
      const there = runCli(['migrate', '--to', tdb.url], {
        DUIKOU_DATA: join(dir, 'a'),
        DUIKOU_CORPUS: join(dir, 'none'),
        DUIKOU_DATABASE_URL: '',
      });
      expect(there.stderr).toBe('');
      expect(there.stdout).toContain(`Copied 0 papers, 1 annotations and 1 tags`);
      expect(there.stdout).toContain(sha256);
      const back = runCli(['migrate', '--to', join(dir, 'b')], { DUIKOU_DATABASE_URL: tdb.url });
      expect(back.stdout).toContain(sha256);
      const copy = embedded(join(dir, 'b'));
      expect((await libraryDigest(copy)).sha256).toBe(sha256);
      await copy.close();
      const again = runCli(['migrate', '--to', tdb.url], {
        DUIKOU_DATA: join(dir, 'a'),
        DUIKOU_CORPUS: join(dir, 'none'),
        DUIKOU_DATABASE_URL: '',
      });
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

/** Papers as the app lists them: every field of `/api/documents` but the passage count (segmenting is the same; ids are not compared). */
type Summary = { id: string; title: string; authors: string[]; year: number | null; venue: string | null; lang: string; chars: number };

/**
 * A library folder of its own: the five sample papers, a PDF (its text is a
 * conversion, copied as text) and a paper with text outside the BMP whose
 * metadata is set in `duikou.metadata.json`.
 */
function sourceLibrary(root: string): string {
  const corpus = copySample();
  const dir = join(root, 'corpus');
  mkdirSync(dir);
  for (const f of [
    'li-zhong-personalized-pairing.txt',
    'wang-counterpart-support-policy.txt',
    'wang-duikou-zhiyuan-mechanism.txt',
    'zheng-wu-task-oriented-network.txt',
    'zhou-partner-assistance-overview.txt',
    'duikou.metadata.json',
  ]) {
    copyFileSync(join(corpus, f), join(dir, f));
  }
  copyFileSync(new URL('./fixtures/import/chinese.pdf', import.meta.url), join(dir, 'chinese-report.pdf'));
  writeFileSync(join(dir, 'extra-notes.md'), '# 对口支援 field notes\n\n对口支援 𠀀 援藏干部 and counterpart support, 路径依赖.\n');
  const meta = JSON.parse(readFileSync(join(dir, 'duikou.metadata.json'), 'utf8')) as Record<string, unknown>;
  meta['extra-notes'] = { title: '田野笔记 𠀀', authors: ['李四', 'Jane Roe'], year: 2021, venue: null, lang: 'zh' };
  writeFileSync(join(dir, 'duikou.metadata.json'), JSON.stringify(meta, null, 2));
  return dir;
}

describe.skipIf(!server)('migrating a whole library: papers, metadata, annotations and tags', () => {
  let root: string;
  let tdb: TestDatabase;
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'duikou-migrate-all-'));
    tdb = await createTestDatabase(server as string);
  });
  afterEach(async () => {
    await tdb.drop();
    rmSync(root, { recursive: true, force: true });
  });

  it('copies a folder library into PostgreSQL and back into a data folder, the papers checked by ids, texts and metadata', async () => {
    const corpus = sourceLibrary(root);
    const lib = { dir: corpus, sample: null };
    const { documents: source } = await loadLibrary(lib);
    expect(source.map((d) => d.id)).toContain('chinese-report');
    expect(source.length).toBe(7);
    const src = embedded(join(root, 'a'));
    const notes = source.find((d) => d.id === 'extra-notes')!;
    const at2 = (s: string) => ({ start: notes.text.indexOf(s), end: notes.text.indexOf(s) + s.length });
    await src.create({ docId: 'extra-notes', ...at2('𠀀 援藏'), tags: ['援藏'], note: 'n' }, notes);

    const pool = (await PgAnnotationStore.open({ url: tdb.url })) as PgAnnotationStore;
    const pgSearch = await PgSearchBackend.open(pool.pool, emptyGlossary());
    const there = await copyWholeLibrary(
      { annotations: src, papers: folderShelf(lib) },
      { annotations: pool, papers: pgShelf(pgSearch, 'test database') },
    );
    expect(there).toMatchObject({ papers: 7, annotations: 1, tags: 1 });
    expect(there.papersSha256).toBe((await papersDigest(folderShelf(lib))).papersSha256);
    // Stored as the indexing instance stores them: the same metadata it would compare with the folder's.
    const stored = await pgSearch.storedMetadata();
    for (const d of source) {
      const { text: _t, ...rest } = d;
      expect(stored.get(d.id)).toEqual(JSON.parse(JSON.stringify(rest)));
    }

    const back = embedded(join(root, 'b'));
    const into = folderShelf(resolveLibrary({ DUIKOU_DATA: join(root, 'b') }));
    const again = await copyWholeLibrary(
      { annotations: pool, papers: pgShelf(pgSearch, 'test database') },
      { annotations: back, papers: into },
    );
    expect(again).toEqual(there);
    // Read back from the folder as an embedded duikou reads it (the sample folder beneath hidden where not copied).
    const { documents: copied } = await loadLibrary(resolveLibrary({ DUIKOU_DATA: join(root, 'b') }));
    const view = (d: (typeof source)[number]) => [d.id, d.text, d.hash, d.title, d.authors, d.year, d.venue, d.lang];
    expect(copied.map(view).sort()).toEqual(source.map(view).sort());

    // Not into a library that holds papers: refused, nothing written.
    const other = embedded(join(root, 'c'));
    await expect(
      copyWholeLibrary({ annotations: src, papers: folderShelf(lib) }, { annotations: other, papers: pgShelf(pgSearch, 'test database') }),
    ).rejects.toMatchObject({ code: 'target_not_empty' });
    expect(await other.list()).toEqual([]);
    await Promise.all([src.close(), back.close(), other.close(), pool.close()]);
  });

  it('takes the papers away again when the copy fails its check, leaving the target empty', async () => {
    // A text a folder cannot keep as it is: a .txt loses its leading byte-order mark when read.
    const text = '\uFEFF对口支援 𠀀 counterpart support';
    const store = await PgAnnotationStore.open({ url: tdb.url });
    const pgSearch = await PgSearchBackend.open(store.pool, emptyGlossary());
    const meta = { title: 'BOM', authors: [], year: null, venue: null, lang: 'zh' as const, file: 'bom.txt' };
    await pgSearch.indexDocument(prepareDocument({ id: 'bom', text, hash: textHash(text), ...meta }));
    await pgSearch.indexDocument(
      prepareDocument({ id: 'plain', text: '对口支援', hash: textHash('对口支援'), ...meta, file: 'plain.txt' }),
    );
    const back = embedded(join(root, 'b'));
    const into = folderShelf(resolveLibrary({ DUIKOU_DATA: join(root, 'b') }));
    await expect(
      copyWholeLibrary({ annotations: store, papers: pgShelf(pgSearch, 'db') }, { annotations: back, papers: into }),
    ).rejects.toThrow(/papers copied differ/);
    expect(readdirSync(join(root, 'b', 'library'))).toEqual([]);
    expect(await into.isEmpty()).toBe(true);
    expect(existsSync(join(root, 'b', 'library', 'bom.txt'))).toBe(false);
    await Promise.all([store.close(), back.close()]);
  });

  it('npx duikou migrate: a lab server on the database serves the papers, and an embedded duikou on the folder copied back does too', async () => {
    const corpus = sourceLibrary(root);
    const src = embedded(join(root, 'a'));
    const { documents: source } = await loadLibrary({ dir: corpus, sample: null });
    const first = source.find((d) => d.id === 'wang-duikou-zhiyuan-mechanism')!;
    const i = first.text.indexOf('对口支援');
    await src.create({ docId: first.id, start: i, end: i + 4, tags: ['机制'], note: '笔记 𠀀' }, first);
    await src.close();
    const env = { DUIKOU_DATA: join(root, 'a'), DUIKOU_CORPUS: corpus, DUIKOU_DATABASE_URL: '' };
    const there = runCli(['migrate', '--to', tdb.url], env);
    expect(there.status, there.stderr).toBe(0);
    const sums = there.stdout.match(/papers sha256 ([0-9a-f]{64}), W3C export sha256 ([0-9a-f]{64})/);
    expect(there.stdout).toContain('Copied 7 papers, 1 annotations and 1 tags');
    expect(sums).not.toBeNull();

    /** What a running duikou serves: its papers' summaries and texts, and its annotations' places. */
    const served = async (p: ServerProcess) => {
      // A server answers while it loads its papers: wait for them all.
      await expect
        .poll(async () => (await (await fetch(`${p.url}/api/status`)).json()) as { documents: number; indexing: boolean }, {
          timeout: 60_000,
          interval: 200,
        })
        .toMatchObject({ documents: source.length, indexing: false });
      const list = ((await (await fetch(`${p.url}/api/documents`)).json()) as { documents: Summary[] }).documents;
      const texts: Record<string, string> = {};
      for (const d of list)
        texts[d.id] = ((await (await fetch(`${p.url}/api/documents/${encodeURIComponent(d.id)}`)).json()) as { text: string }).text;
      const annotations = (
        (await (await fetch(`${p.url}/api/annotations`)).json()) as { annotations: { docId: string; start: number; exact: string }[] }
      ).annotations;
      return {
        papers: list.map(({ passages: _p, ...d }: Summary & { passages?: number }) => d),
        texts,
        annotations: annotations.map((a) => [a.docId, a.start, a.exact]),
      };
    };
    const expected = {
      papers: source
        .map((d) => ({ id: d.id, title: d.title, authors: d.authors, year: d.year, venue: d.venue, lang: d.lang, chars: d.text.length }))
        .sort((a, b) => a.id.localeCompare(b.id)),
      texts: Object.fromEntries(source.map((d) => [d.id, d.text])),
      annotations: [[first.id, i, '对口支援']],
    };

    // A lab server on that database, its indexing instance's corpus folder empty: it serves the copied papers.
    mkdirSync(join(root, 'empty'));
    const labServer = await startServerProcess({
      DUIKOU_DATABASE_URL: tdb.url,
      DUIKOU_CORPUS: join(root, 'empty'),
      DUIKOU_DATA: join(root, 'lab'),
    });
    try {
      expect(await served(labServer)).toEqual(expected);
      const c = (await (await fetch(`${labServer.url}/api/concordance?q=${encodeURIComponent('doc:extra-notes 援藏干部')}`)).json()) as {
        total: number;
      };
      expect(c.total).toBe(1);
    } finally {
      await stopProcess(labServer.child);
    }

    const back = runCli(['migrate', '--to', join(root, 'b')], {
      DUIKOU_DATABASE_URL: tdb.url,
      DUIKOU_CORPUS: join(root, 'empty'),
      DUIKOU_DATA: join(root, 'lab'),
    });
    expect(back.status, back.stderr).toBe(0);
    expect(back.stdout).toContain(`papers sha256 ${sums![1]}, W3C export sha256 ${sums![2]}`);
    const embeddedServer = await startServerProcess({ DUIKOU_DATA: join(root, 'b'), DUIKOU_CORPUS: '', DUIKOU_DATABASE_URL: '' });
    try {
      expect(await served(embeddedServer)).toEqual(expected);
    } finally {
      await stopProcess(embeddedServer.child);
    }

    // Once more into the same database: refused, naming why.
    const again = runCli(['migrate', '--to', tdb.url], env);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/not empty|不为空/);
  }, 180_000);
});
