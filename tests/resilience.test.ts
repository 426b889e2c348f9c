/**
 * A server that survives its corpus and its data folder, in process: the
 * researcher's files broken in the ways they break (a trailing comma in the
 * metadata file, a bad glossary line, the corpus folder moved away, a damaged
 * or truncated database, a full disk) never stop the server; each is named on
 * the status bar with its file, line and column, and the last good index keeps
 * answering. Document ids such as `__proto__` are ordinary ids.
 */
import { EventEmitter } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FSWatcher } from 'chokidar';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { openIndexDatabase } from '../src/backends/embedded/index-db.js';
import { overrideFor, readMetadataOverrides } from '../src/pipeline/metadata-file.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { DataFileError, openDatabase } from '../src/store/db.js';
import { CorpusSync, CorpusWatcher, type SyncProblem } from '../src/library/watch.js';
import { type TestServer, startServer } from './helpers/server.js';

const CORPUS = fileURLToPath(new URL('../corpus', import.meta.url));
const PAPERS = ['zhou-partner-assistance-overview.txt', 'wang-counterpart-support-policy.txt'];
const root = mkdtempSync(join(tmpdir(), 'duikou-resil-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A fresh copy of two papers of the corpus (never the tracked folder itself) and an empty data folder. */
function workspace(files: Record<string, string> = {}) {
  const base = join(root, `w${++n}`);
  const corpus = join(base, 'corpus');
  const data = join(base, 'data');
  mkdirSync(corpus, { recursive: true });
  mkdirSync(data, { recursive: true });
  for (const f of PAPERS) copyFileSync(join(CORPUS, f), join(corpus, f));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(corpus, name), body);
  return { base, corpus, data };
}

interface Running {
  engine: Engine;
  sync: CorpusSync;
  store: AnnotationStore;
  server: TestServer;
  watcher?: CorpusWatcher;
  logs: string[];
}
const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.watcher?.close();
    await r.server.close();
    r.sync.indexDb.close();
    r.store.db.close();
  }
});

/** The app over a corpus and data folder, as `npm start` wires it, with the watcher on. */
async function start(corpus: string, data: string, opts: { watch?: boolean } = {}): Promise<Running> {
  const engine = new Engine();
  const store = new AnnotationStore(openDatabase(join(data, 'duikou.db')));
  const logs: string[] = [];
  const sync = new CorpusSync(engine, openIndexDatabase(join(data, 'index.db')), corpus, store, undefined, (l) => logs.push(l));
  await sync.request();
  const server = await startServer({ engine, store, status: sync.status, sync, corpusDir: corpus, dataDir: data });
  const r: Running = { engine, sync, store, server, logs };
  if (opts.watch) {
    r.watcher = sync.watch();
    await new Promise<void>((ok) => r.watcher!.once('ready', () => ok()));
  }
  running.push(r);
  return r;
}

async function getJson(r: Running, path: string): Promise<any> {
  const res = await fetch(r.server.url + path);
  expect(res.status).toBe(200);
  return res.json();
}
const status = (r: Running): Promise<{ problems: SyncProblem[]; documents: number }> => getJson(r, '/api/status');
const hits = async (r: Running, q: string): Promise<string[]> =>
  ((await getJson(r, `/api/search?q=${encodeURIComponent(q)}&expand=0&limit=50`)).hits as any[]).map(
    (h) => `${h.docId}:${h.start}-${h.end}`,
  );

async function until(cond: () => Promise<boolean> | boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((ok) => setTimeout(ok, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const ZHOU = 'zhou-partner-assistance-overview';
/** A metadata file with a trailing comma on line 4: the mistake everyone makes. */
const TRAILING_COMMA = `{\n  "${ZHOU}": {\n    "title": "Broken Title"\n  },\n}\n`;

describe('a broken duikou.metadata.json', () => {
  it('dropped into a running server: it stays up, searches answer, the status names file, line and column', async () => {
    const { corpus, data } = workspace({ 'duikou.metadata.json': JSON.stringify({ [ZHOU]: { title: 'Good Title' } }) });
    const r = await start(corpus, data, { watch: true });
    const before = await hits(r, 'Nyingchi');
    expect(before.length).toBeGreaterThan(0);
    expect((await status(r)).problems).toEqual([]);

    writeFileSync(join(corpus, 'duikou.metadata.json'), TRAILING_COMMA);
    await until(async () => (await status(r)).problems.length > 0, 'the problem on the status bar');
    const [p] = (await status(r)).problems;
    // Line 5 column 1: the "}" where JSON wanted another key after the comma.
    expect(p).toMatchObject({ code: 'bad_metadata', file: 'duikou.metadata.json', line: 5, column: 1 });
    expect(p!.message).toContain('duikou.metadata.json, line 5, column 1');
    expect(r.logs.join('\n')).toContain('duikou.metadata.json, line 5, column 1');
    // The last good metadata and index keep serving.
    expect(await hits(r, 'Nyingchi')).toEqual(before);
    expect(r.engine.requireDocument(ZHOU).title).toBe('Good Title');
    // Every page shows the problem.
    const page = await (await fetch(`${r.server.url}/search?q=Nyingchi`)).text();
    expect(page).toContain('id="problems"');
    expect(page).toContain('line 5, column 1');

    // A paper dropped in meanwhile is still indexed.
    writeFileSync(join(corpus, 'new-paper.txt'), 'A New Paper\n\nThe xylophonic counterpart mechanism.\n');
    await until(async () => (await hits(r, 'xylophonic')).length === 1, 'the new paper');
    expect((await status(r)).problems).toHaveLength(1);

    // Fixed: the problem goes away and the new title shows.
    writeFileSync(join(corpus, 'duikou.metadata.json'), JSON.stringify({ [ZHOU]: { title: 'Fixed Title' } }));
    await until(async () => (await status(r)).problems.length === 0, 'the problem to clear');
    expect(r.engine.requireDocument(ZHOU).title).toBe('Fixed Title');
  }, 60_000);

  it('at start: serves with the metadata last read without a mistake, and shows where the file breaks', async () => {
    const { corpus, data } = workspace({ 'duikou.metadata.json': JSON.stringify({ [ZHOU]: { title: 'Good Title' } }) });
    const first = await start(corpus, data);
    expect(first.engine.requireDocument(ZHOU).title).toBe('Good Title');
    await first.server.close();
    first.sync.indexDb.close();
    first.store.db.close();
    running.splice(running.indexOf(first), 1);

    writeFileSync(join(corpus, 'duikou.metadata.json'), TRAILING_COMMA);
    const r = await start(corpus, data);
    expect((await status(r)).problems).toMatchObject([{ code: 'bad_metadata', line: 5, column: 1 }]);
    expect(r.engine.requireDocument(ZHOU).title).toBe('Good Title');
    expect((await hits(r, 'Nyingchi')).length).toBeGreaterThan(0);
  });

  const WRONG_YEAR = `{"${ZHOU}": {"year": "2019"}}`;
  const UNKNOWN_FIELD = `{\n  "${ZHOU}": {\n    "title": "T",\n    "journal": "X"\n  }\n}\n`;
  it.each([
    // [what, content, message, line, column]: the column of the faulty field's key, computed from the text.
    ['a year that is text', WRONG_YEAR, /bad entry "zhou-partner-assistance-overview"\.year/, 1, WRONG_YEAR.indexOf('"year"') + 1],
    ['an unknown field', UNKNOWN_FIELD, /unknown field "journal"/, 4, UNKNOWN_FIELD.split('\n')[3]!.indexOf('"journal"') + 1],
    ['a list', '[]', /must hold one object/, 1, 1],
    ['an empty file', '', /line 1, column 1/, 1, 1],
    ['a lone brace', '{', /line 1, column 2/, 1, 2],
  ])('names the file, line and column for %s, and the server keeps answering', async (_what, content, message, line, column) => {
    const { corpus, data } = workspace({ 'duikou.metadata.json': content });
    const r = await start(corpus, data);
    const [p] = (await status(r)).problems;
    expect(p).toMatchObject({ code: 'bad_metadata', file: 'duikou.metadata.json', line, column });
    expect(p?.message).toMatch(message);
    expect(p?.message).toContain(`duikou.metadata.json, line ${line}, column ${column}`);
    expect((await hits(r, 'Nyingchi')).length).toBeGreaterThan(0);
  });
});

describe('a broken duikou.glossary.tsv', () => {
  it('at start and dropped in later: named with its line, the last good glossary kept', async () => {
    const bad = 'zh\ten\tsource\n对口支援\tcounterpart support\tcurated\n林芝\n';
    const { corpus, data } = workspace({ 'duikou.glossary.tsv': bad });
    const r = await start(corpus, data, { watch: true });
    expect((await status(r)).problems).toMatchObject([{ code: 'bad_glossary', file: 'duikou.glossary.tsv', line: 3 }]);
    expect((await hits(r, 'Nyingchi')).length).toBeGreaterThan(0);

    writeFileSync(join(corpus, 'duikou.glossary.tsv'), 'zh\ten\tsource\n林芝\tNyingchi\tcurated\n');
    await until(async () => (await status(r)).problems.length === 0, 'the glossary problem to clear');
    const expanded = await getJson(r, `/api/search?q=${encodeURIComponent('林芝')}`);
    expect(expanded.total).toBeGreaterThan(0);

    writeFileSync(join(corpus, 'duikou.glossary.tsv'), 'zh\ten\tsource\n林芝\tNyingchi\n');
    await until(async () => (await status(r)).problems.length > 0, 'the glossary problem');
    expect((await status(r)).problems[0]).toMatchObject({ code: 'bad_glossary', line: 2 });
    // The last good glossary is still in use.
    expect((await getJson(r, `/api/search?q=${encodeURIComponent('林芝')}`)).total).toBe(expanded.total);
  }, 60_000);
});

describe('the corpus folder moved away', () => {
  it('while running: searches still answer, the status says it is missing, and it comes back', async () => {
    const { base, corpus, data } = workspace();
    const r = await start(corpus, data, { watch: true });
    const store = r.store;
    const doc = r.engine.requireDocument(ZHOU);
    const quote = 'Nyingchi';
    const a = store.create(
      { docId: ZHOU, start: doc.text.indexOf(quote), end: doc.text.indexOf(quote) + quote.length, tags: ['援藏'] },
      doc,
    );
    const before = await hits(r, 'Nyingchi');

    renameSync(corpus, join(base, 'moved-away'));
    await until(async () => (await status(r)).problems.some((p) => p.code === 'corpus_missing'), 'the missing folder on the status bar');
    expect((await status(r)).problems[0]!.message).toContain(corpus);
    expect(await hits(r, 'Nyingchi')).toEqual(before);
    expect(store.get(a.id)?.status).toBe('anchored'); // not orphaned: the papers are not gone, only the folder

    renameSync(join(base, 'moved-away'), corpus);
    await until(async () => (await status(r)).problems.length === 0, 'the folder to be found again', 20_000);
    writeFileSync(join(corpus, 'new-paper.txt'), 'A New Paper\n\nThe xylophonic counterpart mechanism.\n');
    await until(async () => (await hits(r, 'xylophonic')).length === 1, 'a paper dropped into the returned folder', 20_000);
  }, 60_000);

  it('a folder that comes back is synced again once its new watcher has scanned it', async () => {
    // A file that appears during the new watcher's first scan sends no event (it counts as already
    // there), so the sync at the folder's return may miss it; the sync after the scan must not.
    const dir = join(root, `w${++n}-returning`);
    const inner: EventEmitter[] = [];
    const start = () => {
      const w = Object.assign(new EventEmitter(), { close: async () => undefined });
      inner.push(w);
      return w as unknown as FSWatcher;
    };
    const watcher = new CorpusWatcher(dir, start);
    let back = 0;
    watcher.waitForFolder(() => back++);
    mkdirSync(dir, { recursive: true });
    await until(async () => back === 1, 'the folder to be noticed', 10_000);
    expect(inner).toHaveLength(2);
    expect(back).toBe(1);
    inner[1]!.emit('ready');
    expect(back).toBe(2);
    await watcher.close();
  });

  it('deleted while running, then at start: the papers indexed before are served from index.db', async () => {
    const { corpus, data } = workspace();
    const r = await start(corpus, data, { watch: true });
    const before = await hits(r, 'Nyingchi');
    rmSync(corpus, { recursive: true });
    await until(async () => (await status(r)).problems.some((p) => p.code === 'corpus_missing'), 'the missing folder');
    expect(await hits(r, 'Nyingchi')).toEqual(before);

    const again = await start(corpus, data);
    expect((await status(again)).problems).toMatchObject([{ code: 'corpus_missing' }]);
    expect(await hits(again, 'Nyingchi')).toEqual(before);
    expect((await status(again)).documents).toBe(PAPERS.length);
  }, 60_000);
});

describe('damaged databases', () => {
  /** A duikou.db with some annotations in it, closed. */
  function annotatedDb(data: string): string {
    const file = join(data, 'duikou.db');
    const store = new AnnotationStore(openDatabase(file));
    const docStub = { id: 'p', text: 'x'.repeat(100_000), hash: 'h' };
    for (let i = 0; i < 400; i++)
      store.create({ docId: 'p', start: i * 10, end: i * 10 + 5, note: 'n'.repeat(200), tags: [`t${i % 7}`] }, docStub);
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    store.db.close();
    return file;
  }

  it.each([
    ['overwritten with garbage', (f: string) => writeFileSync(f, Buffer.from('this is not a database '.repeat(500)))],
    ['truncated to half', (f: string) => truncateSync(f, Math.floor(readFileSync(f).length / 2))],
    [
      'with a damaged page',
      (f: string) => {
        const b = readFileSync(f);
        b.fill(0xa5, 4096 * 3, 4096 * 3 + 2000);
        writeFileSync(f, b);
      },
    ],
  ])('duikou.db %s: refused with a message naming the file and what to do; the file is left as it was', (_what, damage) => {
    const { data } = workspace();
    const file = annotatedDb(data);
    damage(file);
    const bytes = readFileSync(file);
    let err: unknown;
    try {
      openDatabase(file).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataFileError);
    const message = (err as Error).message;
    expect(message).toContain(file);
    expect(message).toMatch(/damaged/);
    expect(message).toMatch(/backup/);
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(readdirSync(data).filter((f) => f.startsWith('duikou.db'))).toEqual(['duikou.db']);
  });

  it('index.db damaged deep inside (the list of papers still readable): the sync moves it aside and rebuilds', async () => {
    const { corpus, data } = workspace();
    const first = await start(corpus, data);
    const before = await hits(first, '对口支援');
    await first.server.close();
    first.sync.indexDb.pragma('wal_checkpoint(TRUNCATE)');
    first.sync.indexDb.close();
    first.store.db.close();
    running.splice(running.indexOf(first), 1);

    // Garbage over the second half of the file: the passages, not the first pages.
    const file = join(data, 'index.db');
    const b = readFileSync(file);
    b.fill(0x5a, Math.floor(b.length / 2));
    writeFileSync(file, b);
    const r = await start(corpus, data);
    expect(readdirSync(data).some((f) => f.startsWith('index.db.damaged-'))).toBe(true);
    expect(r.logs.join('\n')).toMatch(/the search index\) is damaged .*rebuilding it/);
    expect(await hits(r, '对口支援')).toEqual(before);
    expect((await status(r)).problems).toEqual([]);
  });

  it.each([
    ['overwritten with garbage', (f: string) => writeFileSync(f, Buffer.from('garbage '.repeat(2000)))],
    ['truncated to a quarter', (f: string) => truncateSync(f, Math.floor(readFileSync(f).length / 4))],
  ])('index.db %s: moved aside and rebuilt, the same answers', async (_what, damage) => {
    const { corpus, data } = workspace();
    const first = await start(corpus, data);
    const before = await hits(first, '对口支援');
    const beforeEn = await hits(first, 'Nyingchi');
    await first.server.close();
    first.sync.indexDb.pragma('wal_checkpoint(TRUNCATE)');
    first.sync.indexDb.close();
    first.store.db.close();
    running.splice(running.indexOf(first), 1);

    damage(join(data, 'index.db'));
    const r = await start(corpus, data);
    expect(readdirSync(data).some((f) => f.startsWith('index.db.damaged-'))).toBe(true);
    expect(await hits(r, '对口支援')).toEqual(before);
    expect(await hits(r, 'Nyingchi')).toEqual(beforeEn);
    expect((await status(r)).problems).toEqual([]);
  });
});

describe('a full disk', () => {
  it('answers 507 disk_full to an annotation, and writes nothing', async () => {
    const { corpus, data } = workspace();
    const r = await start(corpus, data);
    const doc = r.engine.requireDocument(ZHOU);
    const count = () => (r.store.db.prepare('SELECT count(*) AS n FROM annotations').get() as { n: number }).n;
    // SQLite's own "database or disk is full": no page may be added to the file.
    const pages = r.store.db.pragma('page_count', { simple: true }) as number;
    r.store.db.pragma(`max_page_count = ${pages}`);
    const before = count();
    let res: Response | undefined;
    for (let i = 0; i < 50; i++) {
      res = await fetch(`${r.server.url}/api/annotations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ docId: ZHOU, start: 0, end: 20, note: 'n'.repeat(9000), tags: [`full-${i}`] }),
      });
      if (res.status !== 201) break;
    }
    expect(res!.status).toBe(507);
    const body = (await res!.json()) as any;
    expect(body.error.code).toBe('disk_full');
    expect(body.error.message).toMatch(/disk is full/);
    expect(r.store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    const after = count();
    // Every 201 before the failure is stored, the failed one is not.
    expect(r.store.list({ docId: ZHOU }).every((a) => doc.text.slice(a.start, a.end) === a.exact)).toBe(true);
    expect(after).toBeGreaterThanOrEqual(before);
  });
});

describe('document ids that are names of Object members', () => {
  it('are own entries of the overrides, which survive a copy to a worker and a JSON round trip', async () => {
    const ids = ['__proto__', 'constructor', 'hasOwnProperty', 'toString'];
    const { corpus } = workspace({
      'duikou.metadata.json': `{${ids
        .slice(0, 3)
        .map((id) => `"${id}": {"title": "T ${id}"}`)
        .join(', ')}}`,
    });
    const overrides = await readMetadataOverrides(corpus);
    expect(Object.keys(overrides)).toEqual(ids.slice(0, 3));
    for (const copy of [overrides, structuredClone(overrides), JSON.parse(JSON.stringify(overrides))]) {
      for (const id of ids.slice(0, 3)) expect(overrideFor(copy, id)).toEqual({ title: `T ${id}` });
      expect(overrideFor(copy, 'toString')).toBeUndefined();
      expect(overrideFor(copy, 'valueOf')).toBeUndefined();
    }
  });

  it.each(['__proto__', 'constructor', 'hasOwnProperty'])('a metadata edit of "%s" survives a restart', async (id) => {
    const { corpus, data } = workspace({ [`${id}.txt`]: `Paper ${id}\n\nA paper whose file is named ${id}.\n` });
    const r = await start(corpus, data);
    expect(r.engine.requireDocument(id).title).toBe(`Paper ${id}`);
    const res = await fetch(`${r.server.url}/api/documents/${encodeURIComponent(id)}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: `Edited ${id}`, year: 2020 }),
    });
    expect(res.status).toBe(200);
    const file = readFileSync(join(corpus, 'duikou.metadata.json'), 'utf8');
    expect(Object.keys(JSON.parse(file))).toEqual([id]);
    // The other papers got no override from Object's members.
    expect(r.engine.requireDocument(ZHOU).year).not.toBe(2020);

    const second = await start(corpus, data);
    expect(second.engine.requireDocument(id)).toMatchObject({ title: `Edited ${id}`, year: 2020 });
    expect((await status(second)).problems).toEqual([]);
    // A second edit keeps the first one's fields.
    const again = await fetch(`${second.server.url}/api/documents/${encodeURIComponent(id)}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ venue: 'V' }),
    });
    expect(again.status).toBe(200);
    expect(JSON.parse(readFileSync(join(corpus, 'duikou.metadata.json'), 'utf8'))[id]).toEqual({
      title: `Edited ${id}`,
      year: 2020,
      venue: 'V',
    });
  });
});
