/// <reference lib="dom" />
/**
 * The concordance in a real browser: every occurrence of 对口支援 sorted by
 * right context, coding a line with its Code button and by selecting words
 * in it (the stored offsets are those of the occurrence, found in the text
 * with indexOf), the co-occurrence table counting the pair just coded, and
 * walking the reader's matches with the keys and buttons; on a desktop in
 * light mode and on a 390 px phone in dark mode.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import { contextWords, wordSortKey } from '../src/pipeline/concordance.js';
import { parseQuery } from '../src/pipeline/query.js';
import { type TestBrowser, browserSkipReason, launchBrowser, pagePerTest } from './helpers/browser.js';
import { type TestServerWithStore, startServerWithStore } from './helpers/server.js';

const ZH = 'wang-duikou-zhiyuan-mechanism';
const Q = '对口支援';

const skip = browserSkipReason();
if (skip) console.warn(`Skipping the browser tests: ${skip}`);

let engine: Engine;
let server: TestServerWithStore;
let browser: TestBrowser;
let dir: string;
let page: Page;

/** Every occurrence the engine finds, without expansion. */
const occurrences = () =>
  engine.allMatchesParsed(parseQuery(Q), { expand: false }).flatMap((m) => m.matches.map((s) => ({ docId: m.passage.docId, ...s })));

/** A concordance row's visible context and keyword, read from the page. */
async function rowText(i: number): Promise<{ docId: string; left: string; keyword: string; right: string }> {
  return page
    .locator('tr.conc-line')
    .nth(i)
    .evaluate((tr: Element) => ({
      docId: tr.getAttribute('data-doc-id') ?? '',
      left: tr.querySelector('td.left .pc')?.textContent ?? '',
      keyword: tr.querySelector('td.kw .pc')?.textContent ?? '',
      right: tr.querySelector('td.right .pc')?.textContent ?? '',
    }));
}

/** The first row from `from` whose context stands once in its paper, and where its keyword starts (by indexOf). */
async function uniqueRow(from: number): Promise<{ row: number; docId: string; start: number; left: string; keyword: string }> {
  const n = await page.locator('tr.conc-line').count();
  for (let i = from; i < n; i++) {
    const r = await rowText(i);
    const text = engine.requireDocument(r.docId).text;
    const whole = r.left + r.keyword + r.right;
    const at = text.indexOf(whole);
    if (r.left.length >= 4 && at >= 0 && text.indexOf(whole, at + 1) < 0) return { row: i, start: at + r.left.length, ...r };
  }
  throw new Error('no row with a unique context');
}

// A desktop in light mode and a phone in dark mode, each with its own server and store (the test codes lines).
const SCREENS = [
  { width: 1280, height: 900, colorScheme: 'light' as const },
  { width: 390, height: 844, colorScheme: 'dark' as const },
];

describe.skipIf(skip !== null).each(SCREENS)(
  'the concordance in the browser, $width px, $colorScheme',
  ({ width, height, colorScheme }) => {
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'duikou-browser-conc-'));
      cpSync(fileURLToPath(new URL('../corpus', import.meta.url)), join(dir, 'corpus'), { recursive: true });
      engine = await openCorpus(join(dir, 'corpus'));
      server = await startServerWithStore(engine);
      browser = await launchBrowser({ width, height, colorScheme });
    }, 120_000);
    afterAll(async () => {
      await browser?.close();
      await server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    pagePerTest(
      () => browser,
      (p) => {
        page = p;
      },
    );

    it('lists every occurrence sorted by right context and codes a line at exactly its characters', async () => {
      const all = occurrences();
      await page.goto(`${server.url}/concordance?${new URLSearchParams({ q: Q, sort: 'right', expand: '0', limit: '1000' })}`);
      expect(await page.locator('#conc-total').textContent()).toBe(String(all.length));
      expect(await page.locator('tr.conc-line').count()).toBe(all.length);
      const shown = await page
        .locator('tr.conc-line')
        .evaluateAll((trs) => trs.map((tr) => `${tr.getAttribute('data-doc-id')}:${tr.getAttribute('data-start')}`));
      expect(new Set(shown)).toEqual(new Set(all.map((o) => `${o.docId}:${o.start}`)));
      // sorted by right context: the words right of each keyword (the analyzer's, read by pinyin) never go back
      const rightWords = shown.map((key) => {
        const [docId, start] = [key.slice(0, key.lastIndexOf(':')), Number(key.slice(key.lastIndexOf(':') + 1))];
        const o = all.find((x) => x.docId === docId && x.start === start)!;
        const p = engine.requireDocument(docId).passages.find((x) => x.pieces.some((pc) => pc.start <= start && start < pc.end))!;
        return contextWords(engine.requireDocument(docId).text, engine.tokens(p.id), o).right.map(wordSortKey);
      });
      for (let i = 1; i < rightWords.length; i++) {
        const [a, b] = [rightWords[i - 1]!, rightWords[i]!];
        const k = a.findIndex((w, j) => w !== b[j]);
        if (k >= 0 && k < b.length) expect(a[k]! <= b[k]!, `row ${i}: ${a.join(' ')} before ${b.join(' ')}`).toBe(true);
      }
      expect(new Set(rightWords.map((w) => w[0])).size).toBeGreaterThan(10);

      // Code: the button opens the popover on the keyword
      const target = await uniqueRow(2);
      await page.locator('tr.conc-line').nth(target.row).locator('button.code-line').click();
      await page.locator('#ann-pop').waitFor({ state: 'visible' });
      expect(await page.locator('#ann-quote').textContent()).toBe(Q);
      await page.locator('#ann-tags').fill('来源, 对口支援/右');
      await page.locator('#ann-save').click();
      await page.locator('#ann-pop').waitFor({ state: 'hidden' });
      await expect.poll(() => page.locator('tr.conc-line').nth(target.row).getAttribute('class')).toContain('coded');
      const [coded] = server.store.list({ tag: '来源' });
      expect(coded).toMatchObject({ docId: target.docId, start: target.start, end: target.start + Q.length, exact: Q });
      expect(coded!.tags.sort()).toEqual(['对口支援/右', '来源'].sort());

      // a selection from the last two characters of the left context to the end of the keyword
      const other = await uniqueRow(target.row + 1);
      await page
        .locator('tr.conc-line')
        .nth(other.row)
        .evaluate((tr: Element) => {
          const left = tr.querySelector('td.left .pc')!.firstChild as Text;
          const kw = tr.querySelector('td.kw mark')!.firstChild as Text;
          const range = document.createRange();
          range.setStart(left, left.data.length - 2);
          range.setEnd(kw, kw.data.length);
          getSelection()!.removeAllRanges();
          getSelection()!.addRange(range);
          kw.parentElement!.dispatchEvent(new MouseEvent('mouseup', { bubbles: true, button: 0 }));
        });
      await page.locator('#ann-pop').waitFor({ state: 'visible' });
      await page.locator('#ann-tags').fill('选段');
      await page.locator('#ann-save').click();
      await page.locator('#ann-pop').waitFor({ state: 'hidden' });
      const [selected] = server.store.list({ tag: '选段' });
      const text = engine.requireDocument(other.docId).text;
      expect(selected).toMatchObject({ docId: other.docId, start: other.start - 2, end: other.start + Q.length });
      expect(selected!.exact).toBe(text.slice(other.start - 2, other.start) + Q);

      // the co-occurrence table counts the pair just coded, and links to that quote
      await page.goto(`${server.url}/cooccurrence`);
      const cell = page.locator('a[aria-label="来源 × 对口支援/右: 1"]');
      expect(await cell.textContent()).toBe('1');
      await cell.click();
      await page.waitForURL(/\/annotations\?/);
      expect(await page.locator('li.card').count()).toBe(1);
      expect(await page.locator('li.card').getAttribute('data-id')).toBe(coded!.id);
    });

    it('fits the analysis pages on a 390 px phone without sideways scrolling', async () => {
      await page.setViewportSize({ width: 390, height: 800 });
      for (const path of [
        `/concordance?${new URLSearchParams({ q: Q, sort: 'left' })}`,
        `/collocates?${new URLSearchParams({ q: 'counterpart' })}`,
        `/dispersion?${new URLSearchParams({ q: Q })}`,
        '/cooccurrence',
      ]) {
        await page.goto(server.url + path);
        expect(await page.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(390);
      }
    });

    it('walks the matches in the reader with n / p and the buttons, and opens a concordance line at its match', async () => {
      const doc = engine.requireDocument(ZH);
      const mine = occurrences()
        .filter((o) => o.docId === ZH)
        .sort((a, b) => a.start - b.start);
      // the first occurrences of the word in the paper's text, by indexOf
      const first: number[] = [];
      for (let at = doc.text.indexOf(Q); first.length < 3; at = doc.text.indexOf(Q, at + 1)) first.push(at);

      await page.goto(`${server.url}/documents/${ZH}?${new URLSearchParams({ q: Q, expand: '0' })}`);
      expect(await page.locator('#match-pos').textContent()).toBe(`– / ${mine.length}`);
      const current = async () => Number(await page.locator('.paper mark.current').getAttribute('data-start'));
      await page.locator('body').press('n');
      await page.locator('body').press('n');
      await page.locator('body').press('n');
      expect(await page.locator('#match-current').textContent()).toBe('3');
      expect(await current()).toBe(first[2]);
      await page.locator('body').press('p');
      expect(await page.locator('#match-current').textContent()).toBe('2');
      expect(await current()).toBe(first[1]);
      await page.locator('#match-next').click();
      expect(await page.locator('#match-current').textContent()).toBe('3');
      await page.locator('#match-prev').click();
      await page.locator('#match-prev').click();
      await page.locator('#match-prev').click();
      // before the first comes the last
      expect(await page.locator('#match-current').textContent()).toBe(String(mine.length));
      expect(await current()).toBe(mine[mine.length - 1]!.start);
      // typing in the search box is not a key command
      await page.locator('#dq').press('n');
      expect(await page.locator('#match-current').textContent()).toBe(String(mine.length));

      // Opened at a passage (a search hit's link), n goes to the passage's first match and p to the one
      // before it, not to the top of the paper.
      const atPassage = `${server.url}/documents/${ZH}?${new URLSearchParams({ q: Q, expand: '0' })}`;
      const passageId = await page.evaluate(() => document.getElementById('m-6')!.closest('[id^="p-"]')!.id);
      const inPassage = await page.evaluate(
        (id) => [...document.getElementById(id)!.querySelectorAll('mark[id^="m-"]')].map((m) => Number(m.id.slice(2))),
        passageId,
      );
      expect(inPassage.length).toBeGreaterThan(0);
      expect(inPassage[0]).toBeGreaterThan(1);
      await page.goto('about:blank');
      await page.goto(`${atPassage}#${passageId}`);
      await page.locator('body').press('n');
      expect(await page.locator('#match-current').textContent()).toBe(String(inPassage[0]));
      expect(await current()).toBe(mine[inPassage[0]! - 1]!.start);
      await page.goto('about:blank');
      await page.goto(`${atPassage}#${passageId}`);
      await page.locator('body').press('p');
      expect(await page.locator('#match-current').textContent()).toBe(String(inPassage[0]! - 1));

      // a concordance line's paper link opens the reader at that occurrence
      await page.goto(`${server.url}/concordance?${new URLSearchParams({ q: Q, sort: 'right', expand: '0', doc: ZH })}`);
      const line = page.locator('tr.conc-line').nth(4);
      const start = Number(await line.getAttribute('data-start'));
      await line.locator('td.src a').click();
      await page.waitForURL(/#m-\d+$/);
      const n = Number(/#m-(\d+)$/.exec(page.url())![1]);
      expect(await page.locator('#match-current').textContent()).toBe(String(n));
      expect(await current()).toBe(start);
      expect(mine[n - 1]!.start).toBe(start);
    });
  },
);
