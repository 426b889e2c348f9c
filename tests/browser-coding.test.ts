/// <reference lib="dom" />
/**
 * Coding in a real browser, at a desktop width in light mode and on a 390 px
 * phone in dark mode: a quote card is retagged, re-noted and deleted where it
 * stands (the page is never reloaded), the tag tree beside the cards counts
 * again, a tag is nested by dragging it onto another, `dkzy` finds 对口支援 in
 * the tag box, and a query typed in pinyin finds 对口支援 in all five papers.
 * Without JavaScript the same forms post and the page comes back.
 */
import { type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import { CHROMIUM, CHROMIUM_ARGS, type TestBrowser, browserSkipReason, launchBrowser, pagePerTest } from './helpers/browser.js';
import { type TestServerWithStore, startServerWithStore } from './helpers/server.js';
import { SAMPLE, SAMPLE_IDS } from './helpers/sample.js';

const ZH = 'wang-duikou-zhiyuan-mechanism';
const SENTENCE = '对口支援是中国特色国家治理的重要方式和机制';

const skip = browserSkipReason();
if (skip) console.warn(`Skipping the browser tests: ${skip}`);

let engine: Engine;
let server: TestServerWithStore;

beforeAll(async () => {
  if (skip) return;
  engine = await openCorpus(SAMPLE);
  server = await startServerWithStore(engine);
}, 120_000);
afterAll(async () => {
  await server?.close();
});

const VIEWS = [
  { width: 1280, height: 900, scheme: 'light' as const },
  { width: 390, height: 844, scheme: 'dark' as const },
];

describe.skipIf(skip !== null).each(VIEWS)('coding at $width px, $scheme', ({ width, height, scheme }) => {
  let browser: TestBrowser;
  let page: Page;
  beforeAll(async () => {
    browser = await launchBrowser({ width, height });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  pagePerTest(
    () => browser,
    (p) => {
      page = p;
      void page.emulateMedia({ colorScheme: scheme });
    },
  );

  /** A mark on the window that a reload would wipe. */
  const mark = () => page.evaluate(() => ((window as unknown as { kept: string }).kept = 'not reloaded'));
  const notReloaded = async () => expect(await page.evaluate(() => (window as unknown as { kept?: string }).kept)).toBe('not reloaded');
  const noOverflow = async () => expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);

  it('retags, re-notes, recolours and deletes a card in place, and the tag tree counts again', async () => {
    const doc = engine.requireDocument(ZH);
    const start = doc.text.indexOf(SENTENCE);
    const old = `旧标签${width}`;
    const fresh = `新标签${width}`;
    const a = server.store.create({ docId: ZH, start, end: start + SENTENCE.length, tags: [old], note: 'first' }, doc);
    await page.goto(`${server.url}/annotations?sort=date`);
    await noOverflow();
    await mark();
    const card = page.locator(`#card-${a.id}`);
    const count = (tag: string) => page.locator(`nav.tagside li.tagnode[data-tag="${tag}"] > span.n`).first().textContent();
    expect(await count(old)).toBe('1');

    await card.locator('summary').click();
    await card.locator('input[name="tags"]').fill(`${fresh}，对口支援/右`);
    await card.locator('textarea[name="note"]').fill('改过的笔记');
    await card.locator('label.swatch-label').nth(2).click();
    await card.locator('form.card-form button[type="submit"]').click();
    await expect.poll(() => card.locator('a.chip').allTextContents()).toEqual([fresh, '对口支援/右'].sort((x, y) => (x < y ? -1 : 1)));
    expect(await card.locator('.card-note').textContent()).toBe('改过的笔记');
    expect(await card.locator('blockquote.quote').getAttribute('class')).toContain('hl-c2');
    expect(server.store.get(a.id)).toMatchObject({ note: '改过的笔记', colour: '#90caf9' });
    expect(server.store.get(a.id)!.tags.sort()).toEqual([fresh, '对口支援/右'].sort());
    await expect.poll(() => count(fresh)).toBe('1');
    expect(await count(old)).toBe('0');
    await noOverflow();

    await card.locator('summary').click();
    await card.locator('form.card-delete button[type="submit"]').click();
    await card.locator('button.js-confirm').click();
    await card.waitFor({ state: 'detached' });
    expect(server.store.get(a.id)).toBeNull();
    await expect.poll(() => count(fresh)).toBe('0');
    await notReloaded();
  }, 60_000);

  it('nests a tag by dragging it onto another, and finds tags by their pinyin initials', async () => {
    const parent = `上级${width}`;
    const child = `下级${width}`;
    server.store.createTag({ name: parent });
    server.store.createTag({ name: child });
    server.store.createTag({ name: `对口支援${width}` });
    await page.goto(`${server.url}/tags`);
    await noOverflow();

    // dkzy: only 对口支援… stays (the finder box is there only with JavaScript)
    await page.locator('#tagfind').fill('dkzy');
    const shown = () =>
      page
        .locator('#tagtree > li.tagnode')
        .evaluateAll((lis) => lis.filter((li) => !(li as HTMLElement).hidden).map((li) => li.getAttribute('data-tag')));
    expect((await shown()).every((t) => t!.startsWith('对口支援'))).toBe(true);
    expect(await shown()).toContain(`对口支援${width}`);
    await page.locator('#tagfind').fill('');
    expect(await shown()).toContain(parent);

    const row = (name: string) => page.locator(`li.tagnode[data-tag="${name}"] > .tagrow`);
    await Promise.all([page.waitForURL(/\/tags\?tag=/), row(child).dragTo(row(parent))]);
    expect(new URL(page.url()).searchParams.get('tag')).toBe(`${parent}/${child}`);
    expect(server.store.listTags().map((t) => t.name)).toContain(`${parent}/${child}`);
    // the tree shows it nested, and its form names its parent
    await page.locator(`li.tagnode[data-tag="${parent}"] li.tagnode[data-tag="${parent}/${child}"]`).waitFor();
    expect(await page.locator('form[action="/tags/edit"] select[name="parent"]').inputValue()).toBe(parent);
    await noOverflow();
  }, 60_000);

  it('offers a tag by its initials in the tag box of the coding popover', async () => {
    const tag = `对口支援弹窗${width}`;
    server.store.createTag({ name: tag });
    await page.goto(`${server.url}/concordance?${new URLSearchParams({ q: '对口支援', expand: '0', limit: '5' })}`);
    const row = page.locator('tr.conc-line').first();
    const docId = (await row.getAttribute('data-doc-id'))!;
    const start = Number(await row.getAttribute('data-start'));
    await row.locator('button.code-line').click();
    await page.locator('#ann-pop').waitFor({ state: 'visible' });
    await page.locator('#ann-tags').fill('来源, dkzytc');
    const offered = page.locator('#ann-pinyin button', { hasText: tag });
    await offered.waitFor();
    await offered.click();
    expect(await page.locator('#ann-tags').inputValue()).toBe(`来源, ${tag}, `);
    await page.locator('#ann-save').click();
    await page.locator('#ann-pop').waitFor({ state: 'hidden' });
    const [a] = server.store.list({ tag });
    expect(a).toMatchObject({ docId, start, exact: '对口支援' });
    expect(a!.tags.sort()).toEqual([tag, '来源'].sort());
  }, 60_000);

  it('finds 对口支援 in all five papers for a query typed in pinyin', async () => {
    for (const typed of ['duikou zhiyuan', 'duikouzhiyuan']) {
      await page.goto(`${server.url}/search`);
      await page.locator('#q').fill(typed);
      await Promise.all([page.waitForURL(/\/search\?/), page.locator('#q').press('Enter')]);
      const papers = await page.locator('aside.facets li a[href*="doc="]').count();
      expect(papers, typed).toBe(SAMPLE_IDS.length);
      // the Chinese papers' hits mark the characters
      const marks = await page.locator('ol.hits mark').allTextContents();
      expect(marks, typed).toContain('对口支援');
      await noOverflow();
    }
  }, 60_000);
});

describe.skipIf(skip !== null)('coding without JavaScript', () => {
  it('retags a card, nests a tag and deletes the card with plain forms, coming back to the same view', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
      const page = await context.newPage();
      const doc = engine.requireDocument(ZH);
      const start = doc.text.indexOf(SENTENCE);
      const a = server.store.create({ docId: ZH, start, end: start + SENTENCE.length, tags: ['无脚本/旧'] }, doc);
      const view = `/annotations?${new URLSearchParams({ docId: ZH, sort: 'date' })}`;
      await page.goto(server.url + view);
      const card = page.locator(`#card-${a.id}`);
      await card.locator('summary').click();
      await card.locator('input[name="tags"]').fill('无脚本/新');
      await card.locator('textarea[name="note"]').fill('没有脚本');
      await Promise.all([page.waitForURL(`**/annotations?*#card-${a.id}`), card.locator('form.card-form button[type="submit"]').click()]);
      expect(new URL(page.url()).search).toBe(new URL(server.url + view).search);
      expect(await card.locator('a.chip').allTextContents()).toEqual(['无脚本/新']);
      expect(server.store.get(a.id)).toMatchObject({ tags: ['无脚本/新'], note: '没有脚本' });
      // the tag box finds the tag by its initials on the server
      await page.goto(`${server.url}/annotations?tag=wjbx`);
      expect(await page.locator('section[aria-labelledby="anchored-h"] li.card').count()).toBe(1);

      // nest 无脚本/新 under a new top-level tag by picking the parent
      server.store.createTag({ name: '上级无脚本' });
      await page.goto(`${server.url}/tags?tag=${encodeURIComponent('无脚本/新')}`);
      await page.locator('form[action="/tags/edit"] select[name="parent"]').selectOption('上级无脚本');
      await Promise.all([page.waitForURL(/\/tags\?tag=/), page.locator('form[action="/tags/edit"] button').click()]);
      expect(server.store.get(a.id)!.tags).toEqual(['上级无脚本/新']);

      await page.goto(server.url + view);
      await card.locator('summary').click();
      await Promise.all([page.waitForURL(`**${view}`), card.locator('form.card-delete button[type="submit"]').click()]);
      expect(server.store.get(a.id)).toBeNull();
      expect(await card.count()).toBe(0);
      await context.close();
    } finally {
      await browser.close();
    }
  }, 60_000);
});
