/// <reference lib="dom" />
/**
 * Coding as a team in a real browser: the owner opens a blind round, two
 * coders sign in one after the other and code the same paragraph differently
 * (neither sees the other's highlight), the owner closes the round, and the
 * agreement table and the comparison view show the difference.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { UserStore } from '../src/store/users.js';
import { type PageProblems, type TestBrowser, browserSkipReason, launchBrowser, pagePerTest } from './helpers/browser.js';
import { type TestServer, startServer } from './helpers/server.js';
import { paper } from './helpers/paper.js';

const PARAGRAPH = '对口支援是中国特色国家治理的重要方式。Counterpart support pairs richer provinces with poorer regions 𠀀援藏。';
const LI_QUOTE = '对口支援是中国特色国家治理的重要方式';
const ZHANG_QUOTE = 'Counterpart support pairs richer provinces';
const PW = { wang: 'wang-owner-password', li: 'li-coder-password', zhang: 'zhang-coder-password' };

const skip = browserSkipReason();
if (skip) console.warn(`Skipping the browser tests: ${skip}`);

let store: AnnotationStore;
let server: TestServer;
let browser: TestBrowser;
let dir: string;
let page: Page;
let problems: PageProblems;

async function signInAs(name: keyof typeof PW): Promise<void> {
  await browser.context.clearCookies();
  await page.goto(`${server.url}/documents`);
  expect(new URL(page.url()).pathname).toBe('/login');
  await page.locator('#name').fill(name);
  await page.locator('#password').fill(PW[name]);
  await page.locator('.login-form button[type=submit]').click();
  await page.waitForURL((u) => u.pathname === '/documents');
  await expect(page.locator('.signed-in .who').textContent()).resolves.toContain(name);
}

/** Select `quote` in the paper on the page and release the mouse, as a reader would. */
async function selectText(quote: string): Promise<void> {
  await page.evaluate((q) => {
    const article = document.querySelector('article.paper')!;
    const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const t = n as Text;
      const i = t.data.indexOf(q);
      if (i < 0) continue;
      const range = document.createRange();
      range.setStart(t, i);
      range.setEnd(t, i + q.length);
      const sel = window.getSelection()!;
      sel.removeAllRanges();
      sel.addRange(range);
      t.parentElement!.dispatchEvent(new MouseEvent('mouseup', { bubbles: true, button: 0 }));
      return;
    }
    throw new Error(`"${q}" is not in one text node of the page`);
  }, quote);
  await page.locator('#ann-pop').waitFor({ state: 'visible' });
}

async function code(quote: string, tags: string): Promise<void> {
  await page.goto(`${server.url}/documents/p1`);
  await selectText(quote);
  await page.locator('#ann-tags').fill(tags);
  await page.locator('#ann-save').click();
  await page.locator('#ann-pop').waitFor({ state: 'hidden' });
  await page.locator('mark.hl').first().waitFor();
}

describe.skipIf(skip !== null)('coding as a team in the browser', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'duikou-browser-team-'));
    const engine = new Engine();
    engine.addDocument(paper('p1', PARAGRAPH, 'zh', { hash: 'h1', title: '对口支援 paper', authors: ['王'], year: 2022 }));
    store = new AnnotationStore(openDatabase(join(dir, 'duikou.db')));
    const users = new UserStore(store.db);
    await users.add('wang', 'owner', PW.wang);
    await users.add('li', 'coder', PW.li);
    await users.add('zhang', 'coder', PW.zhang);
    server = await startServer({ engine, store, access: { auth: { token: 'browser-team-token-0123456789' } } });
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    store?.db.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  pagePerTest(
    () => browser,
    (p, found) => {
      page = p;
      problems = found;
    },
  );

  it('two coders code one paragraph blind, the owner closes the round, and the difference shows', async () => {
    // The owner opens a round on the paper for li and zhang.
    await signInAs('wang');
    await page.goto(`${server.url}/rounds`);
    await page.locator('#round-name').fill('试编码 pilot');
    await page.locator('input[name=docIds][value=p1]').check();
    await page.locator('input[name=coders][value=li]').check();
    await page.locator('input[name=coders][value=zhang]').check();
    await page.locator('.round-form button[type=submit]').click();
    await expect(page.locator('#flash').textContent()).resolves.toContain('Opened round');

    // li codes the Chinese sentence.
    await signInAs('li');
    await code(LI_QUOTE, '援藏');
    // zhang does not see li's highlight, and codes the English sentence instead.
    await signInAs('zhang');
    await page.goto(`${server.url}/documents/p1`);
    expect(await page.locator('mark.hl').count()).toBe(0);
    await code(ZHANG_QUOTE, '援藏');
    expect(await page.locator('mark.hl').count()).toBe(1);
    const [mine] = store.list({ docId: 'p1', viewer: 'zhang' });
    expect(mine!.exact).toBe(ZHANG_QUOTE);
    expect(mine!.start).toBe(PARAGRAPH.indexOf(ZHANG_QUOTE));

    // The owner closes the round and reads the agreement table.
    await signInAs('wang');
    await page.goto(`${server.url}/rounds`);
    await page.locator('form[action$="/close"] button').click();
    await page.waitForURL((u) => /^\/rounds\/\d+$/.test(u.pathname));
    const row = page.locator('#agreement tbody tr', { hasText: '援藏' }).first();
    const cells = await row.locator('td').allTextContents();
    // units, coded by li, coded by zhang, agreement, kappa, alpha
    expect(cells[1]).toBe(String([...LI_QUOTE].length));
    expect(cells[2]).toBe(String(ZHANG_QUOTE.length));
    expect(Number(cells[4])).toBeLessThan(0); // they never overlap: below chance

    // The comparison view: both highlights, in two colours, and the disagreements linked.
    await page.locator('a', { hasText: '对口支援 paper' }).click();
    await page.waitForURL((u) => u.pathname.endsWith('/compare'));
    expect(await page.locator('article mark.hl-c2').allTextContents()).toEqual([LI_QUOTE]);
    expect(await page.locator('article mark.hl-c3').allTextContents()).toEqual([ZHANG_QUOTE]);
    const items = await page.locator('#disagreements li').allTextContents();
    expect(items).toHaveLength(2);
    expect(items.join('\n')).toMatch(/only li/);
    expect(items.join('\n')).toMatch(/only zhang/);
    const href = await page.locator('#disagreements a').first().getAttribute('href');
    expect(await page.locator(href!).count()).toBe(1);
    expect(problems.errors).toEqual([]);
  }, 120_000);
});
