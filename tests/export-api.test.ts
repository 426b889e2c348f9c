/**
 * Exports end to end: over HTTP and from the CLI, read back with real
 * parsers, and the JSON backup round-tripped through an empty database.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Readable } from 'node:stream';
import { parse as parseStream } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import { unzipSync } from 'fflate';
import mammoth from 'mammoth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { runCli } from './helpers/process.js';
import { type TestLibrary, openTestLibrary, startServerOnTestBackend } from './helpers/backends.js';
import { type TestServer, startServer } from './helpers/server.js';
import { SAMPLE } from './helpers/sample.js';

const CORPUS = SAMPLE;
const ZH = 'wang-duikou-zhiyuan-mechanism';
const EN = 'wang-counterpart-support-policy';

let dir: string;
let engine: Engine;
let library: TestLibrary;
let server: TestServer;

function annotate(docId: string, quote: string, tags: string[], note = '') {
  const d = engine.requireDocument(docId);
  const start = d.text.indexOf(quote);
  return library.backend.create({ docId, start, end: start + quote.length, tags, note }, d);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'duikou-export-'));
  engine = await openCorpus(CORPUS);
  const started = await startServerOnTestBackend(engine);
  server = started;
  library = started.library;
  await annotate(ZH, '对口支援是中国特色国家治理的重要方式和机制', ['援藏', '援藏/教育'], '定义, with "quotes"\nand a second line');
  await annotate(EN, 'The key nodes of historical institutionalism', ['path dependence'], '=SUM(A1) looks like a formula');
  await annotate(EN, 'counterpart support', ['援藏'], '-starts with a minus');
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function download(query: string) {
  const res = await fetch(`${server.url}/api/export?${query}`);
  return { res, buf: Buffer.from(await res.arrayBuffer()) };
}

describe('GET /api/export', () => {
  it('Markdown: quotes by tag with citations, named with the date and filter', async () => {
    const { res, buf } = await download(`format=md&tag=${encodeURIComponent('援藏')}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/markdown');
    const today = new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
    const disposition = res.headers.get('content-disposition') ?? '';
    expect(decodeURIComponent(disposition.split("UTF-8''")[1]!)).toBe(`duikou-quotes-${today}-tag-援藏.md`);
    const md = buf.toString('utf8');
    expect(md).toContain('对口支援是中国特色国家治理的重要方式和机制');
    expect(md).toContain('王禹澔'); // GB/T 7714 for the Chinese paper
    expect(md).not.toContain('The key nodes'); // filtered out: tagged path dependence only
  });

  it('Markdown and Word filtered to a sub-tag show each quote once, under that tag only', async () => {
    const quote = '对口支援是中国特色国家治理的重要方式和机制';
    const md = (await download(`format=md&tag=${encodeURIComponent('援藏/教育')}`)).buf.toString('utf8');
    // The quote is also tagged 援藏, which is outside the filter: no second copy under it.
    expect(md.split(quote).length - 1).toBe(1);
    expect(md).toMatch(/## 援藏\n\n### 教育\n\n> 对口支援是/);
    expect(md).toContain('*标签：* 援藏; 援藏/教育'); // the quote still lists all its tags (labels in the paper's language)
    const docx = (await download(`format=docx&tag=${encodeURIComponent('援藏/教育')}`)).buf;
    const { value } = await mammoth.extractRawText({ buffer: docx });
    expect(value.split(quote).length - 1).toBe(1);
  });

  it('writes labels in the language asked for with lang=, and refuses an unknown one', async () => {
    const tag = encodeURIComponent('援藏/教育');
    const en = (await download(`format=md&tag=${tag}&lang=en`)).buf.toString('utf8');
    expect(en).toContain('*Tags:* 援藏; 援藏/教育');
    expect(en).not.toContain('标签');
    const zh = (await download(`format=md&tag=${tag}&lang=zh`)).buf.toString('utf8');
    expect(zh).toContain('*标签：* 援藏; 援藏/教育');
    const bad = await download('format=md&lang=fr');
    expect(bad.res.status).toBe(400);
    expect(JSON.parse(bad.buf.toString()).error.code).toBe('bad_parameter');
  });

  it('CSV: BOM, one row per annotation, formula cells neutralised, read back by csv-parse', async () => {
    const { res, buf } = await download('format=csv');
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(buf.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const rows = parse(buf.toString('utf8').slice(1), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(3);
    const zh = rows.find((r) => r['document id'] === ZH)!;
    expect(zh.quote).toBe('对口支援是中国特色国家治理的重要方式和机制');
    expect(zh.note).toBe('定义, with "quotes"\nand a second line');
    expect(zh.tags).toBe('援藏; 援藏/教育');
    expect(rows.find((r) => r.note?.includes('SUM'))!.note).toBe("'=SUM(A1) looks like a formula");
    expect(rows.find((r) => r.note?.includes('minus'))!.note).toBe("'-starts with a minus");
  });

  it('DOCX and REFI-QDA are zips with the quotes inside', async () => {
    const docx = await download('format=docx');
    expect(docx.res.headers.get('content-type')).toContain('wordprocessingml');
    expect(strFromZip(docx.buf, 'word/document.xml')).toContain('对口支援是中国特色国家治理的重要方式和机制');
    const qdpx = await download('format=qdpx');
    const qde = strFromZip(qdpx.buf, 'project.qde');
    expect(qde).toContain('urn:QDA-XML:project:1.0');
    expect(qde).toContain('援藏');
  });

  it.each([
    ['an unknown format', 'format=pdf'],
    // Names every object inherits: not formats either.
    ['a format named constructor', 'format=constructor'],
    ['a format named __proto__', 'format=__proto__'],
    ['a format named toString', 'format=toString'],
    ['an unknown style', 'format=md&style=mla'],
    ['an unknown document', 'format=md&docId=nope'],
  ])('answers %s with a 4xx JSON error', async (_n, q) => {
    const { res, buf } = await download(q);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(JSON.parse(buf.toString()).error.code).toBeTruthy();
  });
});

function strFromZip(buf: Buffer, name: string): string {
  const files = unzipSync(new Uint8Array(buf));
  const f = files[name];
  if (!f) throw new Error(`${name} not in zip: ${Object.keys(files).join(', ')}`);
  return Buffer.from(f).toString('utf8');
}

// Command-line processes each load TypeScript: slower than one test's default on a loaded machine.
describe('JSON backup round trip', { timeout: 120_000 }, () => {
  it('restores every annotation and tag exactly into an empty database, and twice adds nothing', async () => {
    await library.backend.updateTag('援藏', { colour: '#c62828', description: 'aid to Tibet 援藏' });
    const { buf } = await download('format=json');
    const file = join(dir, 'annotations.json');
    writeFileSync(file, buf);

    const restored = await openTestLibrary();
    const first = runCli(['import', file], restored.cliEnv);
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/Imported 3 annotations/);
    const second = runCli(['import', file], restored.cliEnv);
    expect(second.stdout).toMatch(/Imported 0 annotations .* 3 were already there/);

    try {
      expect(await restored.backend.list()).toEqual(await library.backend.list());
      const strip = (t: { name: string; colour: string | null; description: string; count: number }) => ({ ...t, id: 0 });
      expect((await restored.backend.listTags()).map(strip)).toEqual((await library.backend.listTags()).map(strip));
    } finally {
      await restored.close();
    }
  });

  it('a broken backup file is a clear error and writes nothing', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, JSON.stringify({ type: 'AnnotationCollection', items: [{ id: 'x' }] }));
    const r = runCli(['import', file], { DUIKOU_DATA: join(dir, 'broken') });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^duikou: /);
  });
});

describe('duikou export', { timeout: 120_000 }, () => {
  it('writes Markdown for a tag to standard output', () => {
    const r = runCli(['export', '--format', 'md', '--tag', '援藏'], { ...library.cliEnv, DUIKOU_CORPUS: CORPUS });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('对口支援是中国特色国家治理的重要方式和机制');
    expect(r.stdout).toMatch(/^# Quotes$/m); // one quote from each language: English labels
    const zh = runCli(['export', '--format', 'md', '--tag', '援藏', '--lang', 'zh'], library.cliEnv);
    expect(zh.stdout).toMatch(/^# 摘录$/m);
    expect(zh.stdout).not.toMatch(/^# Quotes/m);
    expect(runCli(['export', '--lang', 'xx'], library.cliEnv).status).toBe(2);
  });

  it('writes a REFI-QDA project to a file', () => {
    const out = join(dir, 'project.qdpx');
    const r = runCli(['export', '--format', 'qdpx', '--output', out], { ...library.cliEnv, DUIKOU_CORPUS: CORPUS });
    expect(r.status).toBe(0);
    expect(strFromZip(readFileSync(out), 'project.qde')).toContain('<Project');
  });
});

describe('a large export', () => {
  it('streams 10,000 annotations as CSV', async () => {
    const d = engine.requireDocument(EN);
    const many = new AnnotationStore(openDatabase(join(dir, 'many', 'duikou.db')));
    const insert = many.db.transaction(() => {
      for (let i = 0; i < 10_000; i++) {
        const start = (i * 13) % (d.text.length - 40);
        many.create({ docId: EN, start, end: start + 30, tags: [`t${i % 20}`], note: `note ${i}` }, d);
      }
    });
    insert();
    const s = await startServer({ engine, store: many });
    try {
      const res = await fetch(`${s.url}/api/export?format=csv`);
      // Read it as a stream, record by record, as a spreadsheet import would.
      const notes = new Set<string>();
      const parser = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream).pipe(parseStream({ columns: true, bom: true }));
      for await (const row of parser) notes.add((row as Record<string, string>).note!);
      expect(notes.size).toBe(10_000);
      expect(notes.has('note 9999')).toBe(true);
    } finally {
      await s.close();
      many.db.close();
    }
  }, 120_000);
});

describe('a paper removed from the corpus', () => {
  // Its annotations stay, as orphans, and the README promises they still export, its own filter included.
  it('exports its orphans when the export is filtered to it', async () => {
    const text = 'A paper since removed from the corpus: 对口支援 𠀀 quoted here.';
    const quote = '对口支援 𠀀 quoted';
    const start = text.indexOf(quote);
    const a = await library.backend.create(
      { docId: 'removed-paper', start, end: start + quote.length, tags: ['gone'] },
      { text, hash: 'h-removed' },
    );
    await library.backend.orphanDocument('removed-paper');
    try {
      for (const format of ['md', 'csv', 'json', 'qdpx']) {
        const { res, buf } = await download(`format=${format}&docId=removed-paper`);
        expect(res.status, format).toBe(200);
        const body = format === 'qdpx' ? strFromZip(buf, 'project.qde') : buf.toString('utf8');
        expect(body, format).toContain('对口支援 𠀀 quoted');
      }
    } finally {
      await library.backend.delete(a.id);
    }
  });
});
