/// <reference lib="dom" />
/**
 * Annotating in a real browser: select a Chinese and an English sentence,
 * tag them in the popover, and check that the offsets the page computed are
 * the server's (the stored start/end equal `text.indexOf(sentence)`), that the
 * highlights cover exactly those characters after a reload, and that editing,
 * deleting and re-attaching work — with no console errors and no CSP violation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { type PageProblems, type TestBrowser, browserSkipReason, launchBrowser, pagePerTest } from './helpers/browser.js';
import { type TestServer, startServer } from './helpers/server.js';
import { SAMPLE } from './helpers/sample.js';

const ZH = 'wang-duikou-zhiyuan-mechanism';
const EN = 'wang-counterpart-support-policy';
const ZH_SENTENCE = '对口支援是中国特色国家治理的重要方式和机制';
const EN_SENTENCE =
  'The counterpart support system has undergone more than 70 years of development, and has been continuously improved and enriched.';

const skip = browserSkipReason();
if (skip) console.warn(`Skipping the browser tests: ${skip}`);

let engine: Engine;
let store: AnnotationStore;
let server: TestServer;
let browser: TestBrowser;
let dir: string;
let page: Page;
let problems: PageProblems;

/** Where a quote is in a paper's canonical text (it must occur once). */
function indexIn(docId: string, quote: string): number {
  const text = engine.requireDocument(docId).text;
  const i = text.indexOf(quote);
  expect(i, `${quote} in ${docId}`).toBeGreaterThanOrEqual(0);
  expect(text.indexOf(quote, i + 1), `${quote} once in ${docId}`).toBe(-1);
  return i;
}

/**
 * Select, in the paper on the page, from the first occurrence of `from` to the
 * end of the first occurrence of `to` after it (found in the DOM's text nodes,
 * not from offsets), then release the mouse as a reader would.
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

/** The text of every highlight segment of one annotation, in page order. */
async function highlightedText(id: string): Promise<string> {
  return page.evaluate(
    (annId) =>
      [...document.querySelectorAll('mark.hl')]
        .filter((m) => (m.getAttribute('data-ids') ?? '').split(' ').includes(annId))
        .map((m) => m.textContent)
        .join(''),
    id,
  );
}

const only = (docId: string) => store.list({ docId });

describe.skipIf(skip !== null)('annotating in the browser', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'duikou-browser-'));
    engine = await openCorpus(SAMPLE);
    store = new AnnotationStore(openDatabase(join(dir, 'duikou.db')));
    server = await startServer({ engine, store });
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

  it('tags a Chinese and an English sentence, edits one and deletes the other', async () => {
    // Chinese
    await page.goto(`${server.url}/documents/${ZH}`);
    await selectText(ZH_SENTENCE);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('ann-tags');
    await page.locator('#ann-tags').fill('援藏/教育, path dependence');
    await page.locator('#ann-note').fill('定义 <b>not bold</b>');
    await page.locator('#ann-save').click();
    await page.locator('mark.hl').first().waitFor();
    await page.locator('#ann-pop').waitFor({ state: 'hidden' });
    const [zh] = only(ZH);
    const zs = indexIn(ZH, ZH_SENTENCE);
    expect(zh).toMatchObject({ start: zs, end: zs + ZH_SENTENCE.length, exact: ZH_SENTENCE, note: '定义 <b>not bold</b>' });
    expect(zh!.tags).toEqual(['path dependence', '援藏/教育']);

    // English, in another colour
    await page.goto(`${server.url}/documents/${EN}`);
    await selectText(EN_SENTENCE);
    await page.locator('#ann-tags').fill('干部');
    await page.locator('#ann-pop input[name="colour"][value="#90caf9"]').click();
    await page.locator('#ann-save').click();
    await page.locator('#ann-pop').waitFor({ state: 'hidden' });
    const [en] = only(EN);
    const es = indexIn(EN, EN_SENTENCE);
    expect(en).toMatchObject({ start: es, end: es + EN_SENTENCE.length, exact: EN_SENTENCE, colour: '#90caf9', tags: ['干部'] });

    // after a reload both are drawn over exactly their sentences
    await page.goto(`${server.url}/documents/${ZH}#a-${zh!.id}`);
    expect(await highlightedText(zh!.id)).toBe(ZH_SENTENCE);
    await page.goto(`${server.url}/documents/${EN}`);
    expect(await highlightedText(en!.id)).toBe(EN_SENTENCE);
    expect(
      await page
        .locator(`mark.hl[data-ids~="${en!.id}"]`)
        .first()
        .evaluate((m) => getComputedStyle(m).getPropertyValue('--hl').trim()),
    ).toBe('#90caf9');

    // edit the Chinese one: click the highlight, change note and tags
    await page.goto(`${server.url}/documents/${ZH}`);
    await page.locator(`#a-${zh!.id}`).click();
    await page.locator('#ann-pop').waitFor({ state: 'visible' });
    expect(await page.locator('#ann-tags').inputValue()).toBe('path dependence, 援藏/教育');
    expect(await page.locator('#ann-note').inputValue()).toBe('定义 <b>not bold</b>');
    await page.locator('#ann-tags').fill('援藏');
    await page.locator('#ann-note').fill('definition 定义');
    await page.locator('#ann-save').click();
    await page.locator('#ann-pop').waitFor({ state: 'hidden' });
    expect(store.get(zh!.id)).toMatchObject({ tags: ['援藏'], note: 'definition 定义', start: zs, end: zs + ZH_SENTENCE.length });

    // Esc closes the popover without saving
    await page.locator(`#a-${zh!.id}`).click();
    await page.locator('#ann-pop').waitFor({ state: 'visible' });
    await page.locator('#ann-note').fill('not saved');
    await page.keyboard.press('Escape');
    await page.locator('#ann-pop').waitFor({ state: 'hidden' });
    expect(store.get(zh!.id)!.note).toBe('definition 定义');

    // delete the English one, with the confirm step in the popover
    await page.goto(`${server.url}/documents/${EN}`);
    await page.locator(`#a-${en!.id}`).click();
    await page.locator('#ann-delete').click();
    await page.locator('#ann-confirm-delete').click();
    await page.locator(`#a-${en!.id}`).waitFor({ state: 'detached' });
    expect(store.get(en!.id)).toBeNull();
    expect(store.get(zh!.id)).not.toBeNull();
  }, 60_000);

  it('computes offsets across paragraphs as the server does', async () => {
    await page.goto(`${server.url}/documents/${EN}`);
    await selectText('Analytical Framework', 'Historical institutionalism, as the main');
    await page.locator('#ann-tags').fill('framework');
    await page.locator('#ann-save').click();
    await page.locator('#ann-pop').waitFor({ state: 'hidden' });
    const a = only(EN).find((x) => x.tags.includes('framework'))!;
    const text = engine.requireDocument(EN).text;
    const s = indexIn(EN, '1.2. Analytical Framework') + '1.2. '.length;
    const end = text.indexOf('Historical institutionalism, as the main', s) + 'Historical institutionalism, as the main'.length;
    expect(a).toMatchObject({ start: s, end });
    // the page draws it over the heading's words and the paragraph's first words (the blank line between is not on the page)
    expect(await highlightedText(a.id)).toBe('Analytical FrameworkHistorical institutionalism, as the main');
  }, 60_000);

  it('re-attaches an annotation to a newly selected sentence', async () => {
    const text = engine.requireDocument(ZH).text;
    const zs = indexIn(ZH, ZH_SENTENCE);
    const a = store.create({ docId: ZH, start: zs, end: zs + 4, tags: ['re-attach'] }, { text, hash: engine.requireDocument(ZH).hash });
    await page.goto(`${server.url}/documents/${ZH}?reattach=${a.id}`);
    await page.locator('#reattach-bar').waitFor();
    await selectText(ZH_SENTENCE);
    expect(await page.locator('#ann-tags').inputValue()).toBe('re-attach');
    await page.locator('#ann-save').click();
    await page.locator('#ann-pop').waitFor({ state: 'hidden' });
    expect(store.get(a.id)).toMatchObject({
      start: zs,
      end: zs + ZH_SENTENCE.length,
      exact: ZH_SENTENCE,
      tags: ['re-attach'],
      status: 'anchored',
    });
    expect(new URL(page.url()).searchParams.get('reattach')).toBeNull();
    expect(await page.locator('#reattach-bar').count()).toBe(0);
    expect(only(ZH).filter((x) => x.tags.includes('re-attach'))).toHaveLength(1);
  }, 60_000);

  it('renames a tag on the tags page and deletes an orphan from the annotations page', async () => {
    const doc = engine.requireDocument(EN);
    const s = indexIn(EN, EN_SENTENCE);
    const a = store.create({ docId: EN, start: s, end: s + 20, tags: ['rename-me'], note: 'orphan' }, doc);
    store.db.prepare("UPDATE annotations SET status = 'orphaned', anchor_method = 'orphaned' WHERE id = ?").run(a.id);

    await page.goto(`${server.url}/tags`);
    const edit = page.locator('form[action="/tags/edit"]');
    await page.locator('form[action="/tags/new"] input[name="name"]').fill('renamed');
    await Promise.all([page.waitForURL(/\/tags\?tag=renamed/), page.locator('form[action="/tags/new"] button').click()]);
    await Promise.all([page.waitForURL(/\/tags\?tag=rename-me/), page.locator('li.tagnode[data-tag="rename-me"] a.tagname').click()]);
    await edit.locator('input[name="name"]').fill('child');
    await edit.locator('select[name="parent"]').selectOption('renamed');
    await Promise.all([page.waitForURL(/\/tags\?tag=renamed%2Fchild/), edit.locator('button').click()]);
    await page.locator('li.tagnode[data-tag="renamed/child"]').waitFor();
    expect(store.get(a.id)!.tags).toEqual(['renamed/child']);

    // deleting a tag in use is refused unless "detach" is ticked; the refusal is shown on the page
    await page.locator('form[action="/tags/delete"] button').click();
    await expect.poll(() => page.locator('#flash').textContent()).toContain('detach');
    expect(store.get(a.id)!.tags).toEqual(['renamed/child']);
    // Chromium logs the refused request (409) itself; that one is expected
    problems.errors = problems.errors.filter((e) => !e.includes('status of 409'));

    await page.goto(`${server.url}/annotations`);
    const card = page.locator(`#card-${a.id}`);
    await card.locator('summary').click();
    await card.locator('form.card-delete button[type="submit"]').click();
    await card.locator('button.js-confirm').click();
    await card.waitFor({ state: 'detached' });
    expect(store.get(a.id)).toBeNull();
  }, 60_000);

  // The page reads a paper's annotations from the API a page at a time: the last of more than a page is editable too,
  // also when it is clicked before the list has reached it (a slow connection): it is then read alone, and saving
  // it keeps its note rather than writing the empty fields over it.
  it('edits the last of 1,001 annotations on one paper, also before the list has reached it', async () => {
    const doc = engine.requireDocument(EN);
    const words = [...doc.text.matchAll(/\b[A-Za-z]{5,}\b/g)].slice(0, 1001);
    expect(words).toHaveLength(1001);
    const made = store.db.transaction(() =>
      words.map((w, i) => store.create({ docId: EN, start: w.index!, end: w.index! + w[0].length, note: `word ${i + 1}` }, doc).id),
    )();
    const last = made[made.length - 1]!;
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    try {
      // The list's pages after the first wait until the popover has been used.
      await page.route('**/api/annotations?*', async (route) => {
        if (new URL(route.request().url()).searchParams.get('offset') !== '0') await held;
        // A page held until after `unroute` was already let through by it.
        await route.continue().catch(() => undefined);
      });
      await page.goto(`${server.url}/documents/${EN}`);
      await page.locator(`#a-${last}`).click();
      await page.locator('#ann-pop').waitFor({ state: 'visible' });
      await expect.poll(() => page.locator('#ann-note').inputValue()).toBe('word 1001');
      await page.locator('#ann-tags').fill('early');
      await page.locator('#ann-save').click();
      await expect.poll(() => store.get(last)?.tags).toEqual(['early']);
      expect(store.get(last)!.note).toBe('word 1001');
      release();
      await page.unroute('**/api/annotations?*');
      // With the whole list read, the popover shows it as saved.
      await page.goto(`${server.url}/documents/${EN}`);
      await page.locator(`#a-${last}`).click();
      await page.locator('#ann-pop').waitFor({ state: 'visible' });
      await expect.poll(() => page.locator('#ann-note').inputValue()).toBe('word 1001');
      expect(await page.locator('#ann-tags').inputValue()).toBe('early');
      await page.keyboard.press('Escape');
    } finally {
      release();
      await page.unroute('**/api/annotations?*');
      store.db.transaction(() => made.forEach((id) => store.delete(id)))();
    }
  }, 60_000);

  // Another coder deletes an annotation while the page reads the list: the offsets move by one and
  // the second page would skip the first annotation it should hold, unless the page reads them again.
  it('reads the list again when an annotation is deleted between two of its pages', async () => {
    const doc = engine.requireDocument(EN);
    const words = [...doc.text.matchAll(/\b[A-Za-z]{5,}\b/g)].slice(0, 600);
    const made = store.db.transaction(() =>
      words.map((w, i) => store.create({ docId: EN, start: w.index!, end: w.index! + w[0].length, note: `word ${i + 1}` }, doc).id),
    )();
    let deleted = false;
    await page.route('**/api/annotations?*', async (route) => {
      if (!deleted && new URL(route.request().url()).searchParams.get('offset') === '500') {
        store.delete(made[0]!);
        deleted = true;
      }
      await route.continue();
    });
    await page.goto(`${server.url}/documents/${EN}`);
    await expect.poll(() => deleted).toBe(true);
    // The 501st annotation was the second page's first before the deletion moved it onto the first page.
    await page.locator(`#a-${made[500]}`).click();
    await page.locator('#ann-pop').waitFor({ state: 'visible' });
    expect(await page.locator('#ann-note').inputValue()).toBe('word 501');
    await page.keyboard.press('Escape');
    await page.unroute('**/api/annotations?*');
    store.db.transaction(() => made.slice(1).forEach((id) => store.delete(id)))();
  }, 60_000);
});
