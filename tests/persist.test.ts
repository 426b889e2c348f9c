/**
 * The persisted, incremental index: a restart on an unchanged corpus reads and
 * segments nothing; a changed paper is re-indexed alone; a stale format is
 * rebuilt; and the folder is watched while the server runs.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { openIndexDatabase } from '../src/backends/embedded/index-db.js';
import { openPersistentCorpus } from '../src/backends/embedded/persist.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { CorpusSync } from '../src/library/watch.js';
import { type TestServer, startServer } from './helpers/server.js';
import { SAMPLE } from './helpers/sample.js';

const CORPUS = SAMPLE;
const root = mkdtempSync(join(tmpdir(), 'duikou-persist-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh copy of the real corpus and an empty data folder. */
function workspace(name: string) {
  const corpus = join(root, name, 'corpus');
  const data = join(root, name, 'data');
  mkdirSync(corpus, { recursive: true });
  for (const f of ['wang-counterpart-support-policy.txt', 'wang-duikou-zhiyuan-mechanism.txt', 'zhou-partner-assistance-overview.txt']) {
    copyFileSync(join(CORPUS, f), join(corpus, f));
  }
  return { corpus, data };
}

const ids = (e: Engine, q: string) => e.search(q, { limit: 50 }).hits.map((h) => `${h.docId}:${h.start}-${h.end}`);

describe('persisted index', () => {
  it('restarts on an unchanged corpus without reading or segmenting any paper, with the same answers', async () => {
    const { corpus, data } = workspace('restart');
    const first = await openPersistentCorpus(corpus, data);
    expect(first.stats).toMatchObject({ files: 3, indexed: 3, reused: 0 });
    const before = ids(first.engine, '对口支援');
    first.db.close();

    const second = await openPersistentCorpus(corpus, data);
    expect(second.stats).toMatchObject({ files: 3, indexed: 0, reused: 3, removed: 0 });
    expect(ids(second.engine, '对口支援')).toEqual(before);
    expect(ids(second.engine, '"key node"')).toEqual(ids(first.engine, '"key node"'));
    // Runs found only through the stored bigrams (inside longer words, a single character) too.
    for (const q of ['扶贫协作', '援', '乡村']) {
      expect(ids(first.engine, q).length, q).toBeGreaterThan(0);
      expect(ids(second.engine, q), q).toEqual(ids(first.engine, q));
    }
    second.db.close();
  });

  it('re-indexes only the paper that changed, and drops a removed one', async () => {
    const { corpus, data } = workspace('change');
    (await openPersistentCorpus(corpus, data)).db.close();
    const file = join(corpus, 'zhou-partner-assistance-overview.txt');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n\nA new closing paragraph about Nyingchi and Linzhi.\n`);
    unlinkSync(join(corpus, 'wang-counterpart-support-policy.txt'));
    const { engine, stats, db } = await openPersistentCorpus(corpus, data);
    expect(stats).toMatchObject({ indexed: 1, reused: 1, removed: 1 });
    expect(engine.search('Linzhi').total).toBe(1);
    expect(engine.document('wang-counterpart-support-policy')).toBeUndefined();
    db.close();
  });

  it('a file touched but not changed is not re-segmented', async () => {
    const { corpus, data } = workspace('touch');
    (await openPersistentCorpus(corpus, data)).db.close();
    const file = join(corpus, 'zhou-partner-assistance-overview.txt');
    writeFileSync(file, readFileSync(file)); // new mtime, same content
    const { stats, db } = await openPersistentCorpus(corpus, data);
    expect(stats).toMatchObject({ indexed: 0, reused: 3 });
    db.close();
  });

  it('rebuilds an index of another format version', async () => {
    const { corpus, data } = workspace('stale');
    (await openPersistentCorpus(corpus, data)).db.close();
    const db = openIndexDatabase(join(data, 'index.db'));
    db.prepare("UPDATE meta SET value = 'an older format' WHERE key = 'format'").run();
    db.close();
    const again = await openPersistentCorpus(corpus, data);
    expect(again.stats).toMatchObject({ indexed: 3, reused: 0 });
    again.db.close();
  });
});

describe('watching the corpus folder while the server runs', () => {
  it('picks up an added, a changed and a removed paper, keeping annotations as orphans', async () => {
    const { corpus, data } = workspace('watch');
    mkdirSync(data, { recursive: true });
    const engine = new Engine();
    const db = openIndexDatabase(join(data, 'index.db'));
    const store = new AnnotationStore(openDatabase(join(data, 'duikou.db')));
    const sync = new CorpusSync(engine, db, corpus, store);
    await sync.request();
    const watcher = sync.watch();
    await new Promise<void>((r) => watcher.on('ready', () => r()));
    let server: TestServer | undefined;
    try {
      server = await startServer({ engine, store, status: sync.status });
      const search = async (q: string) =>
        ((await (await fetch(`${server!.url}/api/search?q=${encodeURIComponent(q)}&expand=0`)).json()) as { total: number }).total;
      const until = async (cond: () => Promise<boolean>) => {
        for (let i = 0; i < 200 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 50));
        expect(await cond()).toBe(true);
      };

      // Added.
      writeFileSync(join(corpus, 'new-paper.txt'), 'A New Paper\n\nThe xylophonic counterpart mechanism of 援藏 cadres.\n');
      await until(async () => (await search('xylophonic')) === 1);

      // Changed.
      const zhou = engine.requireDocument('zhou-partner-assistance-overview');
      const quote = 'Fujian is one of the provinces paired with Tibet.';
      const start = zhou.text.indexOf(quote);
      const a = store.create({ docId: zhou.id, start, end: start + quote.length, tags: ['援藏'] }, zhou);
      writeFileSync(join(corpus, 'zhou-partner-assistance-overview.txt'), `Inserted first line 插入.\n\n${zhou.text}`);
      await until(async () => (await search('插入')) === 1);
      // Annotations move once the sync is over (after the engine's state is written), not as soon as the text is searchable.
      await until(async () => store.get(a.id)!.start !== start);
      const moved = store.get(a.id)!;
      expect(moved.status).toBe('anchored');
      expect(engine.requireDocument(zhou.id).text.slice(moved.start, moved.end)).toBe(quote);

      // Removed: its annotations are kept as orphans.
      unlinkSync(join(corpus, 'zhou-partner-assistance-overview.txt'));
      await until(async () => engine.document('zhou-partner-assistance-overview') === undefined);
      await until(async () => store.get(a.id)?.status === 'orphaned');
      expect(await search('Nyingchi')).toBe(0);
    } finally {
      await server?.close();
      await watcher.close();
      db.close();
      store.db.close();
    }
  }, 60_000);
});
