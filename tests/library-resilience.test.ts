/**
 * The library beside the read-only sample, under the sync that survives its
 * corpus: a broken metadata or glossary file in the library (the files the
 * user edits) is named by its path, line and column while the last good
 * merged set stays in use; the library folder moved away leaves every paper
 * searchable and the annotations kept, and is picked up when it is back; an
 * upload into the library is converted once, in the contained worker.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { containedImporter } from '../src/workers/contained.js';
import { Engine } from '../src/backends/embedded/engine.js';
import type { Library } from '../src/library/library.js';
import { openIndexDatabase } from '../src/backends/embedded/index-db.js';
import { GLOSSARY_FILE } from '../src/pipeline/glossary.js';
import { METADATA_FILE } from '../src/pipeline/metadata-file.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { CorpusSync, type CorpusWatcher, type SyncProblem } from '../src/library/watch.js';
import { SAMPLE_IDS, copySample } from './helpers/sample.js';
import { type TestServer, startServer } from './helpers/server.js';

const root = mkdtempSync(join(tmpdir(), 'duikou-libres-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ZHOU = 'zhou-partner-assistance-overview';
const OWN = 'bilby-field-notes';
const OWN_TEXT = 'Bilby field notes\n\nThe bilby survey in Xinjiang counted 对口支援 projects 𠀀 twice.\n';

interface Running {
  lib: Library;
  data: string;
  engine: Engine;
  sync: CorpusSync;
  store: AnnotationStore;
  server: TestServer;
  watcher: CorpusWatcher;
}
const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.watcher.close();
    await r.server.close();
    r.sync.indexDb.close();
    r.store.db.close();
  }
});

let n = 0;
/**
 * A running app over a sample copy and a library folder under the data folder
 * that does not exist yet (as at a first start), watched.
 */
async function start(files: Record<string, string> = {}): Promise<Running> {
  const base = join(root, `w${++n}`);
  const data = join(base, 'data');
  const lib: Library = { dir: join(data, 'library'), sample: copySample() };
  const engine = new Engine();
  const store = new AnnotationStore(openDatabase(join(data, 'duikou.db')));
  const sync = new CorpusSync(engine, openIndexDatabase(join(data, 'index.db')), lib, store, undefined, () => {});
  await sync.request();
  // The first sync made the library folder; the user's files go into it.
  expect(existsSync(lib.dir)).toBe(true);
  for (const [name, body] of Object.entries(files)) writeFileSync(join(lib.dir, name), body);
  if (Object.keys(files).length > 0) await sync.request();
  const watcher = sync.watch();
  await new Promise<void>((ok) => watcher.once('ready', () => ok()));
  const server = await startServer({ engine, store, status: sync.status, sync, corpusDir: lib.dir, sampleDir: lib.sample!, dataDir: data });
  const r = { lib, data, engine, sync, store, server, watcher };
  running.push(r);
  return r;
}

async function getJson(r: Running, path: string): Promise<any> {
  const res = await fetch(r.server.url + path);
  expect(res.status).toBe(200);
  return res.json();
}
const problems = async (r: Running): Promise<SyncProblem[]> => (await getJson(r, '/api/status')).problems;
const hitDocs = async (r: Running, q: string): Promise<string[]> =>
  [...new Set(((await getJson(r, `/api/search?q=${encodeURIComponent(q)}&expand=0&limit=200`)).hits as any[]).map((h) => h.docId))].sort();

async function until(cond: () => Promise<boolean> | boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((ok) => setTimeout(ok, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the library with a broken data file', () => {
  it('a metadata file with a trailing comma: named by its path, line and column; the last good titles stay', async () => {
    const good = `{\n  "${ZHOU}": { "title": "Title From My Library" }\n}\n`;
    const r = await start({ [METADATA_FILE]: good });
    expect(r.engine.document(ZHOU)?.title).toBe('Title From My Library');
    expect(await problems(r)).toEqual([]);

    const broken = `{\n  "${ZHOU}": {\n    "title": "Broken Title"\n  },\n}\n`;
    writeFileSync(join(r.lib.dir, METADATA_FILE), broken);
    await until(async () => (await problems(r)).length > 0, 'the problem on the status bar');
    const [p] = await problems(r);
    // Line 5, column 1: the "}" where JSON wanted another key after the comma.
    expect(p).toMatchObject({ code: 'bad_metadata', file: join(r.lib.dir, METADATA_FILE), line: 5, column: 1 });
    expect(p!.message).toContain(join(r.lib.dir, METADATA_FILE));
    // The last good merged metadata (the library's over the sample's) is kept, and every paper answers.
    expect(r.engine.document(ZHOU)?.title).toBe('Title From My Library');
    expect(
      r.engine
        .documents()
        .map((d) => d.id)
        .sort(),
    ).toEqual([...SAMPLE_IDS].sort());
    expect((await hitDocs(r, '对口支援')).length).toBeGreaterThan(1);

    writeFileSync(join(r.lib.dir, METADATA_FILE), `{\n  "${ZHOU}": { "title": "Fixed Title" }\n}\n`);
    await until(async () => (await problems(r)).length === 0, 'the problem to clear');
    expect(r.engine.document(ZHOU)?.title).toBe('Fixed Title');
  }, 60_000);

  it('a glossary line with two columns: named by its path and line; the sample glossary keeps expanding', async () => {
    const r = await start();
    const before = r.engine.expansions('对口支援');
    expect(before.length).toBeGreaterThan(0);
    writeFileSync(join(r.lib.dir, GLOSSARY_FILE), 'zh\ten\tsource\n袋狸\tbilby\n');
    await until(async () => (await problems(r)).length > 0, 'the problem on the status bar');
    const [p] = await problems(r);
    expect(p).toMatchObject({ code: 'bad_glossary', file: join(r.lib.dir, GLOSSARY_FILE), line: 2 });
    expect(r.engine.expansions('对口支援')).toEqual(before);
    expect(r.engine.expansions('袋狸')).toEqual([]);

    writeFileSync(join(r.lib.dir, GLOSSARY_FILE), 'zh\ten\tsource\n袋狸\tbilby\tcurated\n');
    await until(async () => (await problems(r)).length === 0, 'the problem to clear');
    expect(r.engine.expansions('袋狸').map((e) => e.text)).toContain('bilby');
    expect(r.engine.expansions('对口支援')).toEqual(before);
  }, 60_000);
});

describe('the library folder moved away', () => {
  it('keeps its papers searchable and their annotations, says so, and picks the folder up when it is back', async () => {
    const r = await start({ [`${OWN}.txt`]: OWN_TEXT });
    expect(r.engine.document(OWN)).toBeDefined();
    const start0 = OWN_TEXT.indexOf('对口支援');
    const res = await fetch(`${r.server.url}/api/annotations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ docId: OWN, start: start0, end: start0 + '对口支援'.length }),
    });
    expect(res.status).toBe(201);

    const away = `${r.lib.dir}-away`;
    renameSync(r.lib.dir, away);
    await until(async () => (await problems(r)).some((p) => p.code === 'corpus_missing'), 'the missing folder on the status bar', 20_000);
    const [p] = await problems(r);
    expect(p).toMatchObject({ code: 'corpus_missing', file: r.lib.dir });
    // The library's own paper is not dropped, nor is its annotation orphaned; the sample still answers.
    expect(await hitDocs(r, 'bilby')).toEqual([OWN]);
    expect(r.store.knownDocuments().find((d) => d.id === OWN)).toMatchObject({ removedAt: null });
    expect((await hitDocs(r, '对口支援')).length).toBeGreaterThan(1);

    renameSync(away, r.lib.dir);
    await until(async () => (await problems(r)).length === 0, 'the folder to be picked up again', 20_000);
    expect(await hitDocs(r, 'bilby')).toEqual([OWN]);
  }, 60_000);
});

describe('an upload into the library', () => {
  it('is written into the library folder, never the sample, and converted once', async () => {
    const r = await start();
    const sampleBefore = readFileSync(join(r.lib.sample!, `${ZHOU}.txt`), 'utf8');
    const before = containedImporter().conversions;
    const form = new FormData();
    form.append('files', new Blob([OWN_TEXT]), `${OWN}.txt`);
    const res = await fetch(`${r.server.url}/api/documents`, { method: 'POST', body: form });
    expect(res.status).toBe(201);
    expect(((await res.json()) as any).documents.map((d: any) => d.id)).toEqual([OWN]);
    expect(containedImporter().conversions - before).toBe(1);
    expect(existsSync(join(r.lib.dir, `${OWN}.txt`))).toBe(true);
    expect(existsSync(join(r.lib.sample!, `${OWN}.txt`))).toBe(false);
    expect(readFileSync(join(r.lib.sample!, `${ZHOU}.txt`), 'utf8')).toBe(sampleBefore);
  }, 60_000);
});
