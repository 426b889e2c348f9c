/**
 * Pages over HTTP: a PDF (made here with pdf-lib) and a text paper whose pages
 * are marked with form feeds get their pages in the API's passages, search
 * hits and annotations, and page markers in the reader; a paper without page
 * information says nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import { type TestServerWithStore, startServerWithStore } from './helpers/server.js';

const FF_TEXT =
  '# 对口支援的页码 Page Numbers\n\n第一页：对口支援 pairs provinces 𠀀 together.\n\f\n第二页：援藏干部 arrived in the echidna valley.\n\f\n第三页：the echidna schools opened.\n';
const PLAIN_TEXT = '# No Pages\n\nThe echidna paper has no page information at all.\n';
const PDF_SENTENCE = 'The echidna teams arrived on the second page of the report.';

let dir: string;
let engine: Engine;
let server: TestServerWithStore;

async function pdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const one = doc.addPage([595, 842]);
  one.drawText('Echidna Report', { x: 72, y: 760, size: 18, font });
  one.drawText('The first page says what the report is about.', { x: 72, y: 720, size: 11, font });
  doc.addPage([595, 842]).drawText(PDF_SENTENCE, { x: 72, y: 760, size: 11, font });
  return doc.save();
}

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(`${server.url}${path}`, init);
  expect(res.ok, `${path}: ${res.status}`).toBe(true);
  return (await res.json()) as T;
}

async function annotate(docId: string, start: number, end: number) {
  return json<{ page: unknown; quote: string; exact: string }>('/api/annotations', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ docId, start, end, tags: ['pages'] }),
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'duikou-api-pages-'));
  writeFileSync(join(dir, 'ff-paper.txt'), FF_TEXT);
  writeFileSync(join(dir, 'plain-paper.txt'), PLAIN_TEXT);
  writeFileSync(join(dir, 'echidna-report.pdf'), await pdf());
  engine = await openCorpus(dir);
  server = await startServerWithStore(engine);
}, 60_000);
afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type ApiPassage = { start: number; end: number; page: { first: number; last: number } | null };

describe('pages in the API', () => {
  it('gives each passage of a form-feed text and of a PDF its page, and none for a paper without pages', async () => {
    const ff = await json<{ text: string; passages: ApiPassage[] }>('/api/documents/ff-paper');
    const pageOf = (needle: string) => ff.passages.find((p) => ff.text.slice(p.start, p.end).includes(needle))!.page;
    expect(pageOf('第一页')).toEqual({ first: 1, last: 1 });
    expect(pageOf('第二页')).toEqual({ first: 2, last: 2 });
    expect(pageOf('第三页')).toEqual({ first: 3, last: 3 });
    const report = await json<{ text: string; passages: ApiPassage[] }>('/api/documents/echidna-report');
    const second = report.passages.find((p) => report.text.slice(p.start, p.end).includes(PDF_SENTENCE))!;
    expect(second.page).toEqual({ first: 2, last: 2 });
    const plain = await json<{ passages: ApiPassage[] }>('/api/documents/plain-paper');
    expect(plain.passages.every((p) => p.page === null)).toBe(true);
  });

  it('gives each search hit its page', async () => {
    const r = await json<{ hits: Array<{ docId: string; text: string; page: unknown }> }>('/api/search?q=echidna&limit=50');
    const hit = (docId: string, needle: string) => r.hits.find((h) => h.docId === docId && h.text.includes(needle))!;
    expect(hit('ff-paper', '第二页').page).toEqual({ first: 2, last: 2 });
    expect(hit('echidna-report', PDF_SENTENCE).page).toEqual({ first: 2, last: 2 });
    expect(hit('plain-paper', 'no page information').page).toBeNull();
    // grouped by paper, the groups' hits carry it too
    const grouped = await json<{ groups: Array<{ docId: string; hits: Array<{ page: unknown }> }> }>('/api/search?q=echidna&group=paper');
    expect(grouped.groups.find((g) => g.docId === 'echidna-report')!.hits.map((h) => h.page)).toContainEqual({ first: 2, last: 2 });
    // the search page shows it beside the section
    const html = await (await fetch(`${server.url}/search?q=${encodeURIComponent('援藏干部')}`)).text();
    expect(html).toContain('<span class="page" title="Page">p. 2</span>');
  });

  it('gives an annotation the pages of its range, from its offsets and the page map', async () => {
    const start = FF_TEXT.indexOf('援藏干部');
    const one = await annotate('ff-paper', start, start + '援藏干部'.length);
    expect(one.page).toEqual({ first: 2, last: 2 });
    const across = await annotate('ff-paper', FF_TEXT.indexOf('𠀀'), FF_TEXT.indexOf('the echidna schools'));
    expect(across.page).toEqual({ first: 1, last: 3 });
    const plainStart = PLAIN_TEXT.indexOf('no page');
    expect((await annotate('plain-paper', plainStart, plainStart + 7)).page).toBeNull();
    const list = await json<{ annotations: Array<{ page: unknown }> }>('/api/annotations?docId=ff-paper');
    expect(list.annotations).toHaveLength(2);
    expect(list.annotations.map((a) => a.page)).toEqual(
      expect.arrayContaining([
        { first: 2, last: 2 },
        { first: 1, last: 3 },
      ]),
    );
  });

  it('marks where each page starts in the reader, outside the text', async () => {
    const html = await (await fetch(`${server.url}/documents/ff-paper`)).text();
    const marks = [...html.matchAll(/<span class="page-mark" data-page="(\d+)"[^>]*><\/span>/g)].map((m) => Number(m[1]));
    expect(marks).toEqual([1, 2, 3]);
    // each marker stands before the text of its page
    for (const [needle, page] of [
      ['第二页', 2],
      ['第三页', 3],
    ] as const) {
      expect(html.indexOf(`data-page="${page}"`)).toBeLessThan(html.indexOf(needle));
      expect(html.indexOf(`data-page="${page}"`)).toBeGreaterThan(html.indexOf(page === 2 ? '第一页' : '第二页'));
    }
    const plain = await (await fetch(`${server.url}/documents/plain-paper`)).text();
    expect(plain).not.toContain('page-mark');
  });
});
