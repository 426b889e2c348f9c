/**
 * Adding, describing and removing papers through the app: uploads land in the
 * corpus folder (atomically, validated, never outside it) and are searchable
 * at once with exact offsets; metadata edits go into duikou.metadata.json and
 * survive a restart; a removed paper's file is moved aside and its
 * annotations are orphaned unless the researcher asks to delete them; and
 * `duikou add` does the same from the command line.
 *
 * Runs on both backends (tests/helpers/both-backends.ts). On a lab server
 * (PostgreSQL) papers come from the indexing instance's corpus folder, so the
 * app's upload, edit and removal routes must answer 501 naming that, changing
 * nothing, while `duikou add` puts papers in that folder and the indexing
 * instance publishes them; the embedded-only tests say so when they skip there.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Database as DB } from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { openIndexDatabase } from '../src/backends/embedded/index-db.js';
import { openPersistentCorpus } from '../src/backends/embedded/persist.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { CorpusSync } from '../src/library/watch.js';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import { loadGlossary } from '../src/pipeline/glossary.js';
import { TEST_BACKEND, startSearchServerOnTestBackend } from './helpers/backends.js';
import { openLabServer } from '../src/backends/postgres/lab-server.js';
import { asLibrary } from '../src/library/library.js';
import { parseQuery } from '../src/pipeline/query.js';
import { createTestDatabase } from './helpers/postgres.js';
import { runCli } from './helpers/process.js';
import { type TestServer, startServer } from './helpers/server.js';
import { SAMPLE } from './helpers/sample.js';

const CORPUS = SAMPLE;
/** On a lab server the app does not change the corpus: those tests run on the embedded backend only. */
const LAB = TEST_BACKEND === 'postgres';
if (LAB) {
  console.warn(
    'documents-api on PostgreSQL: the app’s upload, metadata and removal tests and the embedded `duikou add` test are embedded-only (a lab server reads papers from its indexing instance’s corpus folder); checking that the app answers 501 instead, and that `duikou add` reaches the lab’s index through that folder',
  );
}
const PAPERS = ['wang-counterpart-support-policy.txt', 'zhou-partner-assistance-overview.txt'];
const root = mkdtempSync(join(tmpdir(), 'duikou-docapi-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
let corpus: string;
let data: string;
let engine: Engine;
let db: DB;
let store: AnnotationStore;
let server: TestServer | undefined;

/** A fresh corpus folder with two papers, a data folder, and the app over them. */
async function setUp(upload?: { maxFileBytes?: number; maxFiles?: number }) {
  const base = join(root, `w${++n}`);
  corpus = join(base, 'corpus');
  data = join(base, 'data');
  mkdirSync(corpus, { recursive: true });
  mkdirSync(data, { recursive: true });
  for (const f of PAPERS) copyFileSync(join(CORPUS, f), join(corpus, f));
  engine = new Engine();
  db = openIndexDatabase(join(data, 'index.db'));
  store = new AnnotationStore(openDatabase(join(data, 'duikou.db')));
  const sync = new CorpusSync(engine, db, corpus, store);
  await sync.request();
  server = await startServer({ engine, store, status: sync.status, sync, corpusDir: corpus, dataDir: data, ...(upload && { upload }) });
}

afterEach(async () => {
  await server?.close();
  server = undefined;
  db?.close();
  store?.db.close();
});

/** POST /api/documents with files as multipart/form-data. */
async function upload(files: Array<[string, string]>, query = '') {
  const form = new FormData();
  for (const [name, body] of files) form.append('files', new Blob([body]), name);
  const res = await fetch(`${server!.url}/api/documents${query}`, { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as any };
}

const corpusFiles = () => readdirSync(corpus).sort();

describe.skipIf(LAB)('POST /api/documents', () => {
  beforeEach(() => setUp());

  it('adds a .txt and a .md paper, searchable at once with exact offsets', async () => {
    const txt = 'Quokka Governance in Practice\n\nThe quokka-governance model pairs 对口支援 provinces with counties.\n';
    const md = '# 袋鼠治理研究\n\n本文讨论袋鼠治理与对口支援的关系。\n';
    const r = await upload([
      ['quokka-governance.txt', txt],
      ['袋鼠治理.md', md],
    ]);
    expect(r.status).toBe(201);
    expect(r.body.errors).toEqual([]);
    expect(r.body.documents.map((d: any) => [d.id, d.status])).toEqual([
      ['quokka-governance', 'added'],
      ['袋鼠治理', 'added'],
    ]);
    expect(corpusFiles()).toEqual([...PAPERS, 'quokka-governance.txt', '袋鼠治理.md'].sort());
    // no temp file is left behind
    expect(readdirSync(corpus).filter((f) => f.startsWith('.'))).toEqual([]);

    for (const [q, doc, text, word] of [
      ['quokka', 'quokka-governance', txt, 'quokka'],
      ['袋鼠治理', '袋鼠治理', md, '袋鼠治理'],
    ] as const) {
      const s = (await (await fetch(`${server!.url}/api/search?q=${encodeURIComponent(q)}&expand=0`)).json()) as any;
      expect(s.total).toBeGreaterThan(0);
      const hit = s.hits.find((h: any) => h.docId === doc);
      const m = hit.matches[0];
      expect(text.slice(m.start, m.end).toLowerCase()).toBe(word);
    }
    const list = (await (await fetch(`${server!.url}/api/documents`)).json()) as any;
    expect(list.documents.map((d: any) => d.id)).toContain('袋鼠治理');
  });

  it('refuses a type duikou does not read, naming the file, and writes nothing', async () => {
    for (const name of ['setup.exe', 'evil.js', 'noext']) {
      const r = await upload([
        ['fine.txt', 'A fine paper\n\nText.\n'],
        [name, 'MZ'],
      ]);
      expect(r.status).toBe(415);
      expect(r.body.error.code).toBe('unsupported_format');
      expect(r.body.error.message).toContain(name);
      expect(corpusFiles()).toEqual(PAPERS);
    }
  });

  it('keeps a traversing name inside the corpus folder, and refuses hidden and duikou. names', async () => {
    const r = await upload([['../evil.txt', 'Evil\n\nNot outside.\n']]);
    expect(r.status).toBe(201);
    expect(r.body.documents[0].file).toBe('evil.txt');
    expect(existsSync(join(corpus, '..', 'evil.txt'))).toBe(false);
    expect(existsSync(join(corpus, 'evil.txt'))).toBe(true);

    const w = await upload([['..\\..\\win.txt', 'Win\n\nText.\n']]);
    expect(w.body.documents[0].file).toBe('win.txt');

    for (const name of ['.hidden.txt', 'duikou.metadata.txt']) {
      const h = await upload([[name, 'x']]);
      expect(h.status).toBe(400);
      expect(h.body.error.code).toBe('bad_file_name');
    }
    expect(corpusFiles()).toEqual([...PAPERS, 'evil.txt', 'win.txt'].sort());
  });

  it('refuses to overwrite a paper unless replace=1, and keeps the old version', async () => {
    const name = PAPERS[1]!;
    const r = await upload([[name, 'Replaced Paper\n\nA wholly new text about wombats.\n']]);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('file_exists');
    expect(r.body.error.message).toContain(name);
    // another extension with the same id clashes too
    expect((await upload([['zhou-partner-assistance-overview.md', '# x\n\ny\n']])).status).toBe(409);
    expect(readFileSync(join(corpus, name), 'utf8')).toBe(readFileSync(join(CORPUS, name), 'utf8'));

    const ok = await upload([[name, 'Replaced Paper\n\nA wholly new text about wombats.\n']], '?replace=1');
    expect(ok.status).toBe(201);
    expect(ok.body.documents[0]).toMatchObject({ status: 'replaced', id: 'zhou-partner-assistance-overview' });
    expect(readdirSync(join(data, 'removed'))).toHaveLength(1);
    expect(engine.search('wombats').total).toBe(1);
  });

  it('reports a file it cannot read by name and adds the others', async () => {
    const r = await upload([
      ['broken.pdf', 'this is not a PDF'],
      ['good.txt', 'Good Paper\n\nAbout numbats.\n'],
    ]);
    expect(r.status).toBe(201);
    expect(r.body.documents.map((d: any) => d.id)).toEqual(['good']);
    expect(r.body.errors).toHaveLength(1);
    expect(r.body.errors[0].file).toBe('broken.pdf');
    expect(r.body.errors[0].message).toContain('broken.pdf');
    expect(corpusFiles()).toEqual([...PAPERS, 'good.txt'].sort());
  });

  it('answers a body that is not multipart, or has no files, with a 4xx', async () => {
    const res = await fetch(`${server!.url}/api/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(415);
    expect((await upload([])).status).toBe(400);
  });

  it('refuses a request from another site', async () => {
    const form = new FormData();
    form.append('files', new Blob(['x\n\ny\n']), 'x.txt');
    const res = await fetch(`${server!.url}/api/documents`, { method: 'POST', body: form, headers: { origin: 'http://evil.example' } });
    expect(res.status).toBe(403);
    expect(corpusFiles()).toEqual(PAPERS);
  });
});

describe.skipIf(LAB)('upload limits', () => {
  beforeEach(() => setUp({ maxFileBytes: 1000, maxFiles: 2 }));

  it('a file over the size limit is 413 and nothing is written', async () => {
    const r = await upload([
      ['small.txt', 'Small\n\nfine\n'],
      ['big.txt', 'x'.repeat(5000)],
    ]);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('file_too_large');
    expect(r.body.error.message).toContain('big.txt');
    expect(readdirSync(corpus).sort()).toEqual(PAPERS);
  });

  it('too many files is a 413 naming the limit', async () => {
    const r = await upload([
      ['a.txt', 'A\n\na\n'],
      ['b.txt', 'B\n\nb\n'],
      ['c.txt', 'C\n\nc\n'],
    ]);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('too_many_files');
    expect(readdirSync(corpus).sort()).toEqual(PAPERS);
  });
});

describe.skipIf(LAB)('PATCH /api/documents/:id', () => {
  beforeEach(() => setUp());
  const ID = 'zhou-partner-assistance-overview';
  const patch = (id: string, body: unknown) =>
    fetch(`${server!.url}/api/documents/${encodeURIComponent(id)}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('writes the override into duikou.metadata.json, shows it at once, and keeps it across a restart', async () => {
    const metaFile = join(corpus, 'duikou.metadata.json');
    writeFileSync(metaFile, `${JSON.stringify({ 'wang-counterpart-support-policy': { venue: 'Kept Journal', year: 2023 } }, null, 2)}\n`);
    const res = await patch(ID, {
      title: '省际对口援助概览',
      authors: ['Zhou Na', '周娜'],
      year: 2019,
      venue: 'EAI Background Brief',
      lang: 'en',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: ID, title: '省际对口援助概览', year: 2019 });

    const list = (await (await fetch(`${server!.url}/api/documents`)).json()) as any;
    expect(list.documents.find((d: any) => d.id === ID)).toMatchObject({
      title: '省际对口援助概览',
      authors: ['Zhou Na', '周娜'],
      year: 2019,
      venue: 'EAI Background Brief',
    });
    const file = JSON.parse(readFileSync(metaFile, 'utf8'));
    expect(Object.keys(file)).toEqual(['wang-counterpart-support-policy', ID]);
    expect(file['wang-counterpart-support-policy']).toEqual({ venue: 'Kept Journal', year: 2023 });
    expect(file[ID]).toEqual({
      title: '省际对口援助概览',
      authors: ['Zhou Na', '周娜'],
      year: 2019,
      venue: 'EAI Background Brief',
      lang: 'en',
    });
    expect(readFileSync(metaFile, 'utf8')).toContain('\n  "wang-counterpart-support-policy": {\n');

    // a second edit changes only its field
    expect((await patch(ID, { year: null })).status).toBe(200);
    expect(JSON.parse(readFileSync(metaFile, 'utf8'))[ID]).toMatchObject({ title: '省际对口援助概览', year: null });

    const again = await openPersistentCorpus(corpus, data);
    expect(again.engine.requireDocument(ID)).toMatchObject({ title: '省际对口援助概览', authors: ['Zhou Na', '周娜'], year: null });
    again.db.close();
  });

  it('refuses bad metadata with a 400, leaving the file unchanged', async () => {
    const metaFile = join(corpus, 'duikou.metadata.json');
    expect((await patch(ID, { title: 'Good' })).status).toBe(200);
    const before = readFileSync(metaFile, 'utf8');
    for (const body of [{ year: 'abc' }, { year: 1.5 }, { colour: 'red' }, { lang: 'fr' }, { title: '' }, { authors: 'A' }, {}, [1]]) {
      const res = await patch(ID, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as any).error.code).toBe('bad_metadata');
    }
    expect(readFileSync(metaFile, 'utf8')).toBe(before);
    expect(engine.requireDocument(ID).title).toBe('Good');
    expect((await patch('no-such-paper', { title: 'x' })).status).toBe(404);
  });
});

describe.skipIf(LAB)('DELETE /api/documents/:id', () => {
  beforeEach(() => setUp());
  const ID = 'zhou-partner-assistance-overview';

  function annotate() {
    const doc = engine.requireDocument(ID);
    const quote = 'Fujian is one of the provinces paired with Tibet.';
    const start = doc.text.indexOf(quote);
    return store.create({ docId: ID, start, end: start + quote.length, tags: ['援藏'] }, doc);
  }

  it('moves the file to removed/, drops the paper and keeps its annotations as orphans', async () => {
    const a = annotate();
    const res = await fetch(`${server!.url}/api/documents/${ID}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ removed: { id: ID, file: `${ID}.txt` }, annotations: { orphaned: 1, deleted: 0 } });
    expect(engine.document(ID)).toBeUndefined();
    expect(existsSync(join(corpus, `${ID}.txt`))).toBe(false);
    const removed = readdirSync(join(data, 'removed'));
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT.*-${ID}\\.txt$`));
    expect(readFileSync(join(data, 'removed', removed[0]!), 'utf8')).toBe(readFileSync(join(CORPUS, `${ID}.txt`), 'utf8'));
    expect(store.get(a.id)?.status).toBe('orphaned');
    expect((await fetch(`${server!.url}/api/documents/${ID}`)).status).toBe(404);
    expect((await fetch(`${server!.url}/api/documents/${ID}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('deletes its annotations only with deleteAnnotations=1', async () => {
    const a = annotate();
    const res = await fetch(`${server!.url}/api/documents/${ID}?deleteAnnotations=1`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).annotations).toEqual({ orphaned: 0, deleted: 1 });
    expect(store.get(a.id)).toBeNull();
    expect(store.list({ docId: 'wang-counterpart-support-policy' })).toEqual([]);
  });
});

describe.skipIf(LAB)('the page forms, without JavaScript', () => {
  beforeEach(() => setUp());
  const ID = 'zhou-partner-assistance-overview';
  const post = (path: string, body: FormData | URLSearchParams) =>
    fetch(`${server!.url}${path}`, { method: 'POST', body, redirect: 'manual' });
  /** The page a form route redirected to, opened with the cookie it set, and the one-time message it shows. */
  const follow = async (res: Response) => {
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    const html = await (await fetch(new URL(res.headers.get('location')!, server!.url), { headers: { cookie } })).text();
    const m = /<p class="flash flash-(notice|error)"[^>]*>([^<]*)<\/p>/.exec(html);
    return { html, kind: m?.[1], text: m?.[2] ?? '' };
  };

  it('POST /documents uploads and redirects back with a message shown on the page', async () => {
    const form = new FormData();
    form.append('files', new Blob(['Platypus Paper\n\nOn platypus governance.\n']), 'platypus.txt');
    const res = await post('/documents', form);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/documents');
    const shown = await follow(res);
    expect(shown).toMatchObject({ kind: 'notice' });
    expect(shown.text).toMatch(/^Added.*platypus\.txt/);
    expect(shown.html).toContain('Platypus Paper');

    const bad = new FormData();
    bad.append('files', new Blob(['x']), "a&b'<script>.exe");
    const refused = await post('/documents', bad);
    expect(refused.status).toBe(303);
    const page = await follow(refused);
    expect(page).toMatchObject({ kind: 'error' });
    expect(page.text).toContain('cannot read .exe');
    expect(page.html).not.toContain("a&b'");
    expect(page.html).toContain('a&amp;b&#39;_script_.exe');
  });

  it('POST /documents/:id/metadata saves only what changed; a bad year comes back as a message', async () => {
    const doc = engine.requireDocument(ID);
    const form = new URLSearchParams({ title: 'Partner Assistance', authors: 'Zhou Na\n周娜', year: '2020', venue: '', lang: doc.lang });
    const res = await post(`/documents/${ID}/metadata`, form);
    expect(res.status).toBe(303);
    expect(await follow(res)).toMatchObject({ kind: 'notice', text: expect.stringContaining('saved') });
    const file = JSON.parse(readFileSync(join(corpus, 'duikou.metadata.json'), 'utf8'));
    // the venue stays empty and the language unchanged, so neither is pinned
    expect(file[ID]).toEqual({ title: 'Partner Assistance', authors: ['Zhou Na', '周娜'], year: 2020 });
    expect(engine.requireDocument(ID).title).toBe('Partner Assistance');

    const bad = await post(`/documents/${ID}/metadata`, new URLSearchParams({ year: 'abc' }));
    expect(bad.status).toBe(303);
    expect(await follow(bad)).toMatchObject({ kind: 'error', text: expect.stringContaining('not a year') });
    expect(JSON.parse(readFileSync(join(corpus, 'duikou.metadata.json'), 'utf8'))[ID].year).toBe(2020);
  });

  it('POST /documents/:id/remove moves the paper aside', async () => {
    const res = await post(`/documents/${ID}/remove`, new URLSearchParams({ deleteAnnotations: '1' }));
    expect(res.status).toBe(303);
    expect(await follow(res)).toMatchObject({ kind: 'notice', text: expect.stringContaining(`${ID}.txt`) });
    expect(engine.document(ID)).toBeUndefined();
    expect(readdirSync(join(data, 'removed'))).toHaveLength(1);
  });

  it('shows the forms only when the app can change the corpus', async () => {
    expect(await (await fetch(`${server!.url}/documents`)).text()).toContain('id="upload-form"');
    expect(await (await fetch(`${server!.url}/documents/${ID}`)).text()).toContain('id="remove-form"');
    const plain = await startServer({ engine });
    try {
      expect(await (await fetch(`${plain.url}/documents`)).text()).not.toContain('upload-form');
      expect((await fetch(`${plain.url}/api/documents`, { method: 'POST' })).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});

describe.skipIf(LAB)('duikou add', () => {
  it('copies files into the corpus folder and the persisted index; refuses clashes and bad types with exit code 2', async () => {
    const base = join(root, 'cli');
    const c = join(base, 'corpus');
    const d = join(base, 'data');
    const src = join(base, 'incoming');
    mkdirSync(c, { recursive: true });
    mkdirSync(src, { recursive: true });
    copyFileSync(join(CORPUS, PAPERS[0]!), join(c, PAPERS[0]!));
    writeFileSync(join(src, 'bilby-paper.txt'), 'The Bilby Paper\n\nBilby conservation and 对口支援.\n');
    writeFileSync(join(src, 'tool.exe'), 'MZ');
    copyFileSync(join(CORPUS, PAPERS[0]!), join(src, PAPERS[0]!));
    const env = { DUIKOU_CORPUS: c, DUIKOU_DATA: d };

    const r = runCli(['add', join(src, 'bilby-paper.txt'), join(src, 'tool.exe'), join(src, PAPERS[0]!)], env);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toContain('bilby-paper.txt');
    expect(r.stderr).toContain('tool.exe');
    expect(r.stderr).toContain(PAPERS[0]!);
    expect(readdirSync(c).sort()).toEqual(['bilby-paper.txt', PAPERS[0]!]);

    const { engine: e, stats, db: idx } = await openPersistentCorpus(c, d);
    expect(stats).toMatchObject({ indexed: 0, reused: 2 });
    // Strictly: with so few hits the default would add the closest passages of other papers after it.
    expect(e.search('bilby conservation', { match: 'strict' }).hits.map((h) => h.docId)).toEqual(['bilby-paper']);
    idx.close();

    const again = runCli(['add', '--replace', join(src, PAPERS[0]!)], env);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('Replaced');
  }, 60_000);
});

describe.runIf(LAB)('on a lab server', () => {
  const ID = 'zhou-partner-assistance-overview';
  it('answers 501 naming the corpus folder for every upload, edit and removal, and changes nothing', async () => {
    const base = join(root, `lab${++n}`);
    corpus = join(base, 'corpus');
    mkdirSync(corpus, { recursive: true });
    for (const f of PAPERS) copyFileSync(join(CORPUS, f), join(corpus, f));
    const lab = await startSearchServerOnTestBackend(await openCorpus(corpus), loadGlossary(corpus));
    server = lab;
    const total = async (q: string) =>
      ((await (await fetch(`${lab.url}/api/search?q=${encodeURIComponent(q)}&expand=0`)).json()) as any).total as number;
    const before = { files: corpusFiles(), wombats: await total('wombats'), papers: await total('Nyingchi') };
    expect(before.papers).toBeGreaterThan(0);

    const form = () => {
      const f = new FormData();
      f.append('files', new Blob(['Wombat Paper\n\nA text about wombats.\n']), 'wombat-paper.txt');
      return f;
    };
    const calls: [string, string, RequestInit][] = [
      ['POST', '/api/documents', { body: form() }],
      ['PATCH', `/api/documents/${ID}`, { body: JSON.stringify({ year: 1999 }), headers: { 'content-type': 'application/json' } }],
      ['DELETE', `/api/documents/${ID}`, {}],
    ];
    for (const [method, path, init] of calls) {
      const res = await fetch(`${lab.url}${path}`, { method, ...init });
      expect(res.status, `${method} ${path}`).toBe(501);
      const body = (await res.json()) as any;
      expect(body.error.code).toBe('embedded_only');
      expect(body.error.message).toContain('corpus folder');
    }
    // The page forms, without JavaScript: the error page, not a redirect that reads as done.
    const pages: [string, FormData | URLSearchParams][] = [
      ['/documents', form()],
      [`/documents/${ID}/metadata`, new URLSearchParams({ year: '1999' })],
      [`/documents/${ID}/remove`, new URLSearchParams()],
    ];
    for (const [path, body] of pages) {
      const res = await fetch(`${lab.url}${path}`, { method: 'POST', body, redirect: 'manual' });
      expect(res.status, path).toBe(501);
      expect(await res.text()).toContain('corpus folder');
    }
    // Nothing was written, added or removed.
    expect(corpusFiles()).toEqual(before.files);
    expect(await total('wombats')).toBe(before.wombats);
    expect(await total('Nyingchi')).toBe(before.papers);
    const list = (await (await fetch(`${lab.url}/api/documents`)).json()) as any;
    expect(JSON.stringify(list)).toContain(ID);
  });

  it('`duikou add` puts papers in the corpus folder, and the indexing instance publishes them to the lab server', async () => {
    const base = join(root, `labcli${++n}`);
    const c = join(base, 'corpus');
    const src = join(base, 'incoming');
    mkdirSync(c, { recursive: true });
    mkdirSync(src, { recursive: true });
    copyFileSync(join(CORPUS, PAPERS[0]!), join(c, PAPERS[0]!));
    writeFileSync(join(src, 'bilby-paper.txt'), 'The Bilby Paper\n\nBilby conservation and 对口支援.\n');
    writeFileSync(join(src, 'tool.exe'), 'MZ');
    const tdb = await createTestDatabase(process.env.DUIKOU_TEST_DATABASE_URL!);
    const lab = await openLabServer({
      pg: { url: tdb.url, poolSize: 3 },
      library: asLibrary(c),
      dataDir: join(base, 'lab-data'),
      log: () => undefined,
      indexerPollMs: 100,
    });
    try {
      const strict = async (q: string) => (await lab.search.search(q, parseQuery(q), { match: 'strict' })).hits.map((h) => h.docId);
      await expect.poll(() => lab.engine.documents().length, { timeout: 20_000, interval: 100 }).toBe(1);
      expect(await strict('bilby conservation')).toEqual([]);

      const r = runCli(['add', join(src, 'bilby-paper.txt'), join(src, 'tool.exe')], {
        DUIKOU_CORPUS: c,
        DUIKOU_DATA: join(base, 'cli-data'),
        DUIKOU_DATABASE_URL: tdb.url,
      });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stdout).toContain('bilby-paper.txt');
      expect(r.stderr).toContain('tool.exe');
      expect(readdirSync(c).sort()).toEqual(['bilby-paper.txt', PAPERS[0]!]);
      // The indexing instance watches the folder and publishes the paper; every instance then shows it.
      await expect.poll(() => strict('bilby conservation'), { timeout: 20_000, interval: 100 }).toEqual(['bilby-paper']);
      await expect.poll(() => lab.engine.document('bilby-paper')?.title, { timeout: 5_000, interval: 50 }).toBe('The Bilby Paper');
    } finally {
      await lab.close();
      await tdb.drop();
    }
  }, 60_000);
});
