/// <reference lib="dom" />
/**
 * Quotes you can cite, in a real browser: a two-page PDF (made here with
 * pdf-lib) is added through the documents page, a sentence on its second page
 * is annotated, and its page shows in the reader's margin, on the annotation
 * card and in the Markdown, Word and CSV exports. Then a quote across a
 * page-break join of a seed paper (a footnote and a running header in the
 * break) comes out as one quote on the card and in every export, and the
 * reader joins the pieces without a mark. The seed papers are copied into a
 * temp corpus; nothing is written next to the repository's corpus/.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database as DB } from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import mammoth from 'mammoth';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Passage } from '../src/core/types.js';
import { Engine } from '../src/backends/embedded/engine.js';
import { openIndexDatabase } from '../src/backends/embedded/index-db.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { CorpusSync } from '../src/library/watch.js';
import { type TestBrowser, browserSkipReason, launchBrowser, pagePerTest } from './helpers/browser.js';
import { type TestServer, startServer } from './helpers/server.js';

const CORPUS = fileURLToPath(new URL('../corpus', import.meta.url));
const ZH = 'wang-duikou-zhiyuan-mechanism';
const EN = 'wang-counterpart-support-policy';
const skip = browserSkipReason();
if (skip) console.warn(`Skipping the browser tests: ${skip}`);

let dir: string;
let engine: Engine;
let db: DB;
let store: AnnotationStore;
let server: TestServer;
let browser: TestBrowser;
let page: Page;

const PDF_ID = 'pairing-nyingchi';
const PAGE_ONE = ['Counterpart support pairs a richer province with a poorer region.', 'This first page introduces the programme.'];
const SENTENCE = 'The aid teams from Guangdong arrived in Nyingchi in the spring of 1995.';
const PAGE_TWO = [SENTENCE, 'They stayed for three years and built two schools.'];

/** A two-page PDF: a title and a paragraph on page 1, the sentence on page 2. */
async function twoPagePdf(): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const one = doc.addPage([595, 842]);
  one.drawText('Pairing Assistance in Nyingchi', { x: 72, y: 760, size: 18, font });
  PAGE_ONE.forEach((l, i) => one.drawText(l, { x: 72, y: 720 - i * 14, size: 11, font }));
  const two = doc.addPage([595, 842]);
  PAGE_TWO.forEach((l, i) => two.drawText(l, { x: 72, y: 760 - i * 14, size: 11, font }));
  return Buffer.from(await doc.save());
}

/**
 * Select in the paper from the first occurrence of `from` to the end of the
 * first occurrence of `to` after it (found in the DOM's text), and release
 * the mouse as a reader would; the annotation popover opens.
 */
async function selectText(from: string, to: string = from): Promise<void> {
  await page.evaluate(
    ([a, b]) => {
      const article = document.querySelector('article.paper')!;
      const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
      const nodes: Text[] = [];
      let all = '';
      for (let n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n as Text);
      const starts = nodes.map((n) => {
        const s = all.length;
        all += n.data;
        return s;
      });
      const i = all.indexOf(a!);
      const j = all.indexOf(b!, i) + b!.length;
      if (i < 0 || j < b!.length) throw new Error(`"${a}" … "${b}" is not on the page`);
      const locate = (pos: number, isEnd: boolean): [Text, number] => {
        for (let k = nodes.length - 1; k >= 0; k--) {
          const s = starts[k]!;
          if (isEnd ? pos > s : pos >= s) return [nodes[k]!, pos - s];
        }
        throw new Error('no text node');
      };
      const [sn, so] = locate(i, false);
      const [en, eo] = locate(j, true);
      const range = document.createRange();
      range.setStart(sn, so);
      range.setEnd(en, eo);
      const sel = window.getSelection()!;
      sel.removeAllRanges();
      sel.addRange(range);
      en.parentElement!.dispatchEvent(new MouseEvent('mouseup', { bubbles: true, button: 0 }));
    },
    [from, to],
  );
  await page.locator('#ann-pop').waitFor({ state: 'visible' });
}

async function saveWithTag(tag: string): Promise<void> {
  await page.locator('#ann-tags').fill(tag);
  await page.locator('#ann-save').click();
  await page.locator('#ann-pop').waitFor({ state: 'hidden' });
}

/** An export of one tag, as the annotations page's form downloads it. */
async function exported(format: string, tag: string): Promise<Buffer> {
  const res = await fetch(`${server.url}/api/export?${new URLSearchParams({ format, tag }).toString()}`);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

async function exportsOf(tag: string) {
  const md = (await exported('md', tag)).toString('utf8');
  const docx = (await mammoth.extractRawText({ buffer: await exported('docx', tag) })).value;
  const csv = parse(await exported('csv', tag), { bom: true, columns: true }) as Record<string, string>[];
  const json = JSON.parse((await exported('json', tag)).toString('utf8')) as {
    first: { items: Array<{ target: { 'duikou:page'?: unknown; selector: Array<{ exact?: string; 'duikou:quote'?: string }> } }> };
  };
  return { md, docx, csv, json };
}

describe.skipIf(skip !== null)('quotes you can cite, in the browser', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'duikou-browser-cite-'));
    const corpus = join(dir, 'corpus');
    const data = join(dir, 'data');
    mkdirSync(corpus, { recursive: true });
    mkdirSync(data, { recursive: true });
    for (const id of [ZH, EN]) copyFileSync(join(CORPUS, `${id}.txt`), join(corpus, `${id}.txt`));
    engine = new Engine();
    db = openIndexDatabase(join(data, 'index.db'));
    store = new AnnotationStore(openDatabase(join(data, 'duikou.db')));
    const sync = new CorpusSync(engine, db, corpus, store);
    await sync.request();
    server = await startServer({ engine, store, status: sync.status, sync, corpusDir: corpus, dataDir: data });
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    db?.close();
    store?.db.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  pagePerTest(
    () => browser,
    (p) => {
      page = p;
    },
  );

  it('shows the page of a sentence on page 2 of a PDF in the reader, on the card and in the exports', async () => {
    await page.goto(`${server.url}/documents`);
    await page.locator('#upload-files').setInputFiles([{ name: `${PDF_ID}.pdf`, mimeType: 'application/pdf', buffer: await twoPagePdf() }]);
    await page.locator('#upload-submit').click();
    await page.locator('#upload-result').waitFor({ state: 'visible' });
    expect(await page.locator('#upload-result').textContent()).toContain('Added 1');
    const doc = engine.requireDocument(PDF_ID);
    const start = doc.text.indexOf(SENTENCE);
    expect(start).toBeGreaterThan(doc.text.indexOf(PAGE_ONE[1]!));

    // The reader: a marker for page 2 in the margin, before the sentence and after page 1's text.
    await page.goto(`${server.url}/documents/${PDF_ID}`);
    const order = await page.evaluate((sentence) => {
      const mark = document.querySelector('article.paper .page-mark[data-page="2"]');
      const piece = [...document.querySelectorAll('article.paper span.pc')].find((s) => s.textContent?.includes(sentence));
      if (!mark || !piece) return null;
      return {
        before: !!(mark.compareDocumentPosition(piece) & Node.DOCUMENT_POSITION_FOLLOWING),
        label: getComputedStyle(mark, '::before').content,
        marks: [...document.querySelectorAll('article.paper .page-mark')].map((m) => m.getAttribute('data-page')),
      };
    }, SENTENCE);
    expect(order).toMatchObject({ before: true, marks: ['1', '2'] });
    expect(order!.label).toContain('p. ');

    // Annotate the sentence: the stored range is the sentence, on page 2.
    await selectText(SENTENCE);
    await saveWithTag('pdf-page');
    const [a] = store.list({ docId: PDF_ID });
    expect(a).toMatchObject({ start, end: start + SENTENCE.length, exact: SENTENCE });
    const api = (await (await fetch(`${server.url}/api/annotations/${a!.id}`)).json()) as { page: unknown };
    expect(api.page).toEqual({ first: 2, last: 2 });

    // The card.
    await page.goto(`${server.url}/annotations?tag=pdf-page`);
    const card = page.locator(`#card-${a!.id}`);
    expect(await card.locator('.page').textContent()).toBe('p. 2');
    expect(await card.locator('blockquote.quote').textContent()).toBe(SENTENCE);

    // The exports: Markdown and Word cite page 2, CSV has it in its page column.
    const { md, docx, csv, json } = await exportsOf('pdf-page');
    expect(md).toContain(`> ${SENTENCE}`);
    expect(md).toMatch(/^— \(.+, p\. 2\)/m);
    expect(docx).toContain(SENTENCE);
    expect(docx).toMatch(/— \(.+, p\. 2\)/);
    expect(csv).toHaveLength(1);
    expect(csv[0]).toMatchObject({ page: '2', quote: SENTENCE, start: String(start) });
    expect(json.first.items[0]!.target['duikou:page']).toEqual({ first: 2, last: 2 });
  }, 120_000);

  it('makes a quote across a page-break join of a seed paper one quote on the card and in every export', async () => {
    const doc = engine.requireDocument(ZH);
    const text = doc.text;
    // The seed paper's paragraph cut by a page break with a footnote and a running header in the break.
    const joined = doc.passages.find(
      (p: Passage) => p.pieces.length === 2 && text.slice(p.pieces[0]!.end, p.pieces[1]!.start).includes('本文得到'),
    )!;
    expect(joined, 'a joined passage with a footnote in its break').toBeDefined();
    const [left, right] = joined.pieces as [Passage['pieces'][0], Passage['pieces'][0]];
    const gap = text.slice(left.end, right.start);
    // The quote: the last clause before the break to the first clause after it.
    const from = text.slice(left.start, left.end).lastIndexOf('仅');
    const head = text.slice(left.start + from, left.end);
    const tail = text.slice(right.start, text.indexOf('、', right.start + 3) + 1);
    const whole = head + tail;
    expect(head.length).toBeGreaterThan(4);
    expect(tail.length).toBeGreaterThan(1);

    await page.goto(`${server.url}/documents/${ZH}`);
    // The reader joins the two pieces seamlessly: no mark, no space between the Chinese characters.
    const reader = await page.evaluate((id) => {
      const pcs = [...document.querySelectorAll(`#p-${id} > span.pc, #p-${id} span.pc`)];
      return {
        text: document.querySelector(`#p-${id}`)!.textContent,
        between: pcs.slice(1).map((s) => getComputedStyle(s, '::before').content),
      };
    }, joined.id);
    expect(reader.text).toContain(whole);
    expect(reader.text).not.toMatch(/[⋯…]/);
    expect(reader.between.every((c) => c === 'none' || c === 'normal')).toBe(true);

    // A Latin join (the English paper's two-line title) gets a space, not a mark.
    await page.goto(`${server.url}/documents/${EN}`);
    const title = await page.evaluate(() => {
      const pcs = [...document.querySelectorAll('article.paper .title span.pc')];
      return { pieces: pcs.length, between: pcs.slice(1).map((s) => getComputedStyle(s, '::before').content) };
    });
    expect(title.pieces).toBe(2);
    expect(title.between).toEqual(['" "']);

    await page.goto(`${server.url}/documents/${ZH}`);
    await selectText(head, tail);
    expect(await page.locator('#ann-quote').textContent()).toBe(whole); // the popover shows one quote too
    await saveWithTag('page-break');
    const [a] = store.list({ docId: ZH });
    const start = left.start + from;
    const end = right.start + tail.length;
    // The stored range is the true document range, the gap inside it.
    expect(a).toMatchObject({ start, end, exact: text.slice(start, end) });
    expect(a!.exact).toContain(gap);
    // The highlight covers the quote's own text: the footnote shown apart is not marked.
    await page.goto(`${server.url}/documents/${ZH}`);
    const marked = await page.evaluate(
      (id) =>
        [...document.querySelectorAll('mark.hl')]
          .filter((m) => (m.getAttribute('data-ids') ?? '').split(' ').includes(id))
          .map((m) => m.textContent)
          .join(''),
      a!.id,
    );
    expect(marked).toBe(whole);

    // The card shows one quote, the footnote left out.
    await page.goto(`${server.url}/annotations?tag=page-break`);
    expect(await page.locator(`#card-${a!.id} blockquote.quote`).textContent()).toBe(whole);

    const { md, docx, csv, json } = await exportsOf('page-break');
    const footnote = gap.trim().slice(0, 8);
    expect(md).toContain(`> ${whole}\n`);
    expect(md).not.toContain(footnote);
    expect(docx.split('\n')).toContain(whole);
    expect(docx).not.toContain(footnote);
    expect(csv[0]).toMatchObject({ quote: whole, start: String(start), end: String(end), page: '' });
    // The backup keeps the true text slice (its round trip stays exact) and gives the whole quote beside it.
    const selector = json.first.items[0]!.target.selector[0]!;
    expect(selector.exact).toBe(text.slice(start, end));
    expect(selector['duikou:quote']).toBe(whole);
    expect(json.first.items[0]!.target['duikou:page']).toBeUndefined(); // a text paper without page information
  }, 120_000);
});
