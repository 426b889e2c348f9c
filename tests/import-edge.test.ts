/**
 * Files and names at the edges of importing: a `<meta charset="utf-16">` page,
 * a PDF whose only text is one line on every page, an upload's temp file left
 * by a kill, a folder named like a paper, and names that Windows reserves or
 * that hide their real extension behind bidirectional controls.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database as DB } from 'better-sqlite3';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { sanitizePaperName } from '../src/http/documents-api.js';
import { importFile } from '../src/pipeline/import/index.js';
import { openIndexDatabase } from '../src/backends/embedded/index-db.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { CorpusSync } from '../src/library/watch.js';
import { type TestServer, startServer } from './helpers/server.js';

const root = mkdtempSync(join(tmpdir(), 'duikou-edge-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('<meta charset> as browsers read it', () => {
  it.each([
    ['utf-16', 'ASCII bytes'],
    ['UTF-16LE', 'ASCII bytes'],
    ['utf-16be', 'ASCII bytes'],
  ])('reads a page declaring %s over %s as UTF-8', async (label) => {
    const html = `<html><head><meta charset="${label}"><title>Pairing</title></head><body><p>Counterpart support began in 1979.</p></body></html>`;
    for (const body of [html, `${html}\n`]) {
      expect((await importFile(Buffer.from(body, 'latin1'), 'page.html')).text).toBe('# Pairing\n\nCounterpart support began in 1979.\n');
    }
  });

  it('reads a byte that is not UTF-8 under a UTF-16 declaration as UTF-8 does (U+FFFD), not as UTF-16', async () => {
    const bytes = Buffer.from('<meta charset="utf-16"><p>Caf\u00e9 counterpart</p>', 'latin1');
    expect((await importFile(bytes, 'cafe.html')).text).toBe('Caf\uFFFD counterpart\n');
  });

  it('still reads a UTF-16 file that says so with a byte-order mark', async () => {
    const text = '<meta charset="utf-16"><p>对口支援 counterpart 𠀀</p>';
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    expect((await importFile(bytes, 'u16.html')).text).toBe('对口支援 counterpart 𠀀\n');
  });
});

describe('PDF running headers', () => {
  async function pdf(pages: Array<Array<[string, number]>>): Promise<Uint8Array> {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    for (const lines of pages) {
      const page = doc.addPage([612, 792]);
      for (const [text, y] of lines) page.drawText(text, { x: 72, y, size: 11, font });
    }
    return doc.save();
  }

  it('keeps the one line that stands at the same place on every page: it is the text, not a header', async () => {
    const line = 'Counterpart support in the western regions';
    const { text } = await importFile(await pdf([[[line, 750]], [[line, 750]], [[line, 750]]]), 'slides.pdf');
    expect(text.split(line)).toHaveLength(4);
  });

  it('still drops a running header when the pages have other text', async () => {
    const header = 'Journal of Pairing Studies';
    const body = (n: number) => `Page ${n} body: counterpart support between provinces and counties.`;
    const { text } = await importFile(
      await pdf(
        [1, 2, 3].map((n): Array<[string, number]> => [
          [header, 750],
          [body(n), 500],
        ]),
      ),
      'paper.pdf',
    );
    expect(text).not.toContain(header);
    for (const n of [1, 2, 3]) expect(text).toContain(body(n));
  });
});

describe('file names', () => {
  it.each(['CON.txt', 'con.md', 'Aux.notes.pdf', 'NUL.html', 'com1.docx', 'LPT9.txt', 'COM¹.txt', 'prn .txt'])(
    'refuses %s, a device name on Windows',
    (name) => {
      expect(() => sanitizePaperName(name)).toThrow(/device name on Windows/);
    },
  );

  it.each(['CONTEXT.txt', 'console.md', 'com10.txt', 'lpt.pdf', 'aux-report.txt'])('accepts %s', (name) => {
    expect(sanitizePaperName(name)).toBe(name);
  });

  it.each(['report\u202Etxt.exe', 'paper\u202Efdp.txt', '\u2067x\u2069.md', 'a\u200Fb.txt', 'a\u061Cb.pdf'])(
    'refuses %j, whose bidirectional controls disguise it, naming the character',
    (name) => {
      expect(() => sanitizePaperName(name)).toThrow(/U\+(?:202E|2067|200F|61C).*text-direction/);
    },
  );
});

describe('the corpus folder', () => {
  let n = 0;
  let corpus: string;
  let data: string;
  let db: DB;
  let store: AnnotationStore;
  let engine: Engine;
  let sync: CorpusSync;
  let server: TestServer | undefined;

  async function setUp(): Promise<void> {
    const base = join(root, `c${++n}`);
    corpus = join(base, 'corpus');
    data = join(base, 'data');
    mkdirSync(corpus, { recursive: true });
    mkdirSync(data, { recursive: true });
    writeFileSync(join(corpus, 'pairing.txt'), 'Pairing\n\nCounterpart support 对口支援 began in 1979.\n');
    engine = new Engine();
    db = openIndexDatabase(join(data, 'index.db'));
    store = new AnnotationStore(openDatabase(join(data, 'duikou.db')));
    sync = new CorpusSync(engine, db, corpus, store);
  }

  afterEach(async () => {
    await server?.close();
    server = undefined;
    db.close();
    store.db.close();
  });

  it('loses the temp files that uploads cut off by a kill left behind, and keeps a fresh one', async () => {
    await setUp();
    const old = join(corpus, '.duikou-upload-0123456789abcdef01234567');
    const fresh = join(corpus, '.duikou-upload-fedcba9876543210fedcba98');
    writeFileSync(old, 'half an upload');
    writeFileSync(fresh, 'an upload in progress');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    const stats = await sync.request();
    expect(stats?.errors).toEqual([]);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(engine.documents().map((d) => d.id)).toEqual(['pairing']);
  });

  it('ignores a folder named like a paper, and refuses an upload of that name with 409, changing nothing', async () => {
    await setUp();
    mkdirSync(join(corpus, 'x.txt'));
    writeFileSync(join(corpus, 'x.txt', 'inside.txt'), 'not a paper of the corpus\n');
    const stats = await sync.request();
    expect(stats?.errors).toEqual([]);
    expect(engine.documents().map((d) => d.id)).toEqual(['pairing']);

    server = await startServer({ engine, store, status: sync.status, sync, corpusDir: corpus, dataDir: data });
    const form = new FormData();
    form.append('files', new Blob(['X\n\nA paper about wombats.\n']), 'x.txt');
    const res = await fetch(`${server.url}/api/documents`, { method: 'POST', body: form });
    const body = (await res.json()) as any;
    expect(res.status).toBe(409);
    expect(body.error.code).toBe('name_taken');
    expect(body.error.message).toContain('folder named x.txt');
    expect(readdirSync(corpus).sort()).toEqual(['pairing.txt', 'x.txt']);
    expect(readdirSync(join(corpus, 'x.txt'))).toEqual(['inside.txt']);
  });
});
