/// <reference lib="dom" />
/**
 * A researcher's day in a real browser: search in both languages, open a
 * hit, annotate and tag it, and export; then the same pages with XSS
 * payloads in every user-supplied field, checking that nothing runs.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { type TestBrowser, browserSkipReason, launchBrowser, watchProblems } from './helpers/browser.js';
import { type TestServer, startServer } from './helpers/server.js';
import { SAMPLE } from './helpers/sample.js';

const skip = browserSkipReason();
if (skip) console.warn(`Skipping the browser tests: ${skip}`);
const CORPUS = SAMPLE;
const XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>';

let dir: string;
let engine: Engine;
let store: AnnotationStore;
let server: TestServer;
let browser: TestBrowser;

beforeAll(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'duikou-workflow-'));
  const corpus = join(dir, 'corpus');
  mkdirSync(corpus);
  for (const f of ['wang-counterpart-support-policy.txt', 'wang-duikou-zhiyuan-mechanism.txt'])
    copyFileSync(join(CORPUS, f), join(corpus, f));
  // A paper whose title and text carry a payload, as a downloaded HTML-ish file might.
  writeFileSync(join(corpus, 'xss-paper.txt'), `${XSS} A hostile title\n\nThe paragraph mentions counterpart support and ${XSS} inline.\n`);
  engine = await openCorpus(corpus);
  store = new AnnotationStore(openDatabase(join(dir, 'duikou.db')));
  server = await startServer({ engine, store });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  if (skip) return;
  await browser?.close();
  await server?.close();
  store?.db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Select `sentence` inside the passage element that holds it, and release the mouse there. */
async function selectSentence(page: Page, sentence: string): Promise<void> {
  await page.evaluate((s) => {
    const walker = document.createTreeWalker(document.querySelector('article') ?? document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const i = n.textContent!.indexOf(s);
      if (i >= 0) {
        const range = document.createRange();
        range.setStart(n, i);
        range.setEnd(n, i + s.length);
        const sel = getSelection()!;
        sel.removeAllRanges();
        sel.addRange(range);
        n.parentElement!.dispatchEvent(new MouseEvent('mouseup', { bubbles: true }));
        return;
      }
    }
    throw new Error(`not on the page: ${s}`);
  }, sentence);
}

describe.skipIf(skip !== null)('a researcher in a real browser', () => {
  it('searches in Chinese and English, opens a hit, annotates it and exports the quote', async () => {
    const page = await browser.context.newPage();
    const problems = await watchProblems(page);

    // Chinese search, then the English one through the search box.
    await page.goto(`${server.url}/search?q=${encodeURIComponent('对口支援')}`);
    expect(await page.locator('mark').first().textContent()).toBe('对口支援');
    await page.fill('input[name=q]', '"key node"');
    await page.press('input[name=q]', 'Enter');
    await page.waitForURL(/key/);
    const firstMark = (await page.locator('mark').first().textContent())!;
    expect(firstMark.toLowerCase()).toMatch(/^key nodes?$/);

    // Open the hit: the document page at its passage, with the match marked.
    await page.locator('a[href*="/documents/"][href*="#p-"]').first().click();
    await page.waitForURL(/\/documents\/wang-counterpart-support-policy/);
    const hash = new URL(page.url()).hash;
    expect(await page.locator(`${hash} mark`).first().textContent()).toMatch(/Key Nodes?/i);

    // Annotate a sentence of that paper with a tag and a note.
    const sentence = 'historical institutionalism refer to the decisive';
    await selectSentence(page, sentence);
    const popover = page.locator('[role=dialog]');
    await popover.waitFor();
    await popover.locator('input').first().fill('path dependence/key nodes');
    await popover.locator('textarea').fill('Defines critical junctures 关键节点');
    await popover.getByRole('button', { name: /Save/ }).click();
    await page.locator('mark.hl').first().waitFor();
    const text = engine.requireDocument('wang-counterpart-support-policy').text;
    const [stored] = store.list({ tag: 'path dependence' });
    expect(stored).toMatchObject({ start: text.indexOf(sentence), end: text.indexOf(sentence) + sentence.length, exact: sentence });

    // Export from the annotations page as Markdown: the download holds the quote and its citation.
    await page.goto(`${server.url}/annotations?tag=${encodeURIComponent('path dependence')}`);
    await page.selectOption('select[name=format]', 'md');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: /Download/ }).click()]);
    expect(download.suggestedFilename()).toMatch(/^duikou-quotes-\d{4}-\d{2}-\d{2}-tag-path_dependence\.md$/);
    const md = readFileSync((await download.path())!, 'utf8');
    expect(md).toContain(sentence);
    expect(md).toContain('Defines critical junctures 关键节点');

    expect(problems.errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('runs nothing from XSS payloads in notes, tags, quotes, titles, queries and file names', async () => {
    const d = engine.requireDocument('xss-paper');
    const start = d.text.indexOf('<img');
    store.create({ docId: d.id, start, end: start + XSS.length, note: XSS, tags: [`${XSS}`.slice(0, 60), 'safe'] }, d);
    const page = await browser.context.newPage();
    const problems = await watchProblems(page);
    const pages = [
      `/search?q=${encodeURIComponent(XSS)}`,
      `/search?q=${encodeURIComponent('counterpart support')}&view=kwic`,
      `/search?q=${encodeURIComponent('hostile')}`,
      '/documents',
      '/documents/xss-paper',
      `/documents/xss-paper?q=${encodeURIComponent(XSS)}`,
      '/annotations',
      `/annotations?q=${encodeURIComponent(XSS)}&tag=${encodeURIComponent(XSS)}`,
      '/tags',
      `/nothing-${encodeURIComponent(XSS)}`,
    ];
    for (const path of pages) {
      await page.goto(server.url + path);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), path).toBeUndefined();
      expect(await page.locator('img[src=x]').count(), path).toBe(0);
    }
    // The payload is shown as text where it belongs.
    await page.goto(`${server.url}/annotations`);
    expect(await page.locator('body').textContent()).toContain('<script>window.__pwned=1</script>');
    // Error pages (a 400 for a bad filter, the 404) are the only expected console lines: no CSP violation, no page error.
    expect(
      problems.errors.filter((e) => !/status of 40[04]/.test(e)),
      problems.errors.join('\n'),
    ).toEqual([]);
    await page.close();
  }, 120_000);
});
