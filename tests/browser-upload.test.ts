/// <reference lib="dom" />
/**
 * Adding papers in a real browser: choose two files in the documents page's
 * form, watch them upload and index, find them in the list, open one and
 * correct its title, and take a paper out of the corpus through the in-page
 * confirmation — with no console errors and no CSP violation.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Database as DB } from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { openIndexDatabase } from '../src/backends/embedded/index-db.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { CorpusSync } from '../src/library/watch.js';
import { type PageProblems, type TestBrowser, browserSkipReason, launchBrowser, pagePerTest } from './helpers/browser.js';
import { type TestServer, startServer } from './helpers/server.js';
import { SAMPLE } from './helpers/sample.js';

const CORPUS = SAMPLE;
const skip = browserSkipReason();
if (skip) console.warn(`Skipping the browser tests: ${skip}`);

let dir: string;
let corpus: string;
let data: string;
let engine: Engine;
let db: DB;
let store: AnnotationStore;
let server: TestServer;
let browser: TestBrowser;
let page: Page;
let problems: PageProblems;

const EN_TEXT = 'Echidna Policy Networks\n\nThe echidna network links 对口支援 partners across provinces.\n';
const ZH_TEXT = '# 针鼹政策网络\n\n针鼹网络连接各省的对口支援伙伴。\n';

describe.skipIf(skip !== null)('adding papers in the browser', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'duikou-browser-upload-'));
    corpus = join(dir, 'corpus');
    data = join(dir, 'data');
    mkdirSync(corpus, { recursive: true });
    mkdirSync(data, { recursive: true });
    copyFileSync(join(CORPUS, 'wang-counterpart-support-policy.txt'), join(corpus, 'wang-counterpart-support-policy.txt'));
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
    (p, found) => {
      page = p;
      problems = found;
    },
  );

  it('uploads two papers with progress, lists them, and edits one title in place', async () => {
    await page.goto(`${server.url}/documents`);
    await page.locator('#upload-files').setInputFiles([
      { name: 'echidna-networks.txt', mimeType: 'text/plain', buffer: Buffer.from(EN_TEXT) },
      { name: '针鼹网络.md', mimeType: 'text/markdown', buffer: Buffer.from(ZH_TEXT) },
    ]);
    await page.locator('#upload-submit').click();
    await page.locator('#upload-progress').waitFor({ state: 'visible' });
    expect(await page.locator('#upload-list progress').count()).toBe(2);
    await page.locator('#upload-result').waitFor({ state: 'visible' });
    expect(await page.locator('#upload-result').textContent()).toContain('Added 2');
    // the bars finished and the list was refreshed without a reload
    expect(await page.locator('#upload-total').evaluate((el) => (el as HTMLProgressElement).value)).toBeGreaterThan(0);
    await page.locator('#doclist a', { hasText: 'Echidna Policy Networks' }).waitFor();
    await page.locator('#doclist a', { hasText: '针鼹政策网络' }).waitFor();
    expect(readdirSync(corpus).sort()).toEqual(['echidna-networks.txt', 'wang-counterpart-support-policy.txt', '针鼹网络.md']);

    // The same file again, in the Chinese interface: refused, naming the file and the way out, with no "indexing done".
    await page.context().addCookies([{ name: 'duikou_lang', value: 'zh', url: server.url }]);
    try {
      await page.goto(`${server.url}/documents`);
      await page
        .locator('#upload-files')
        .setInputFiles([{ name: 'echidna-networks.txt', mimeType: 'text/plain', buffer: Buffer.from(EN_TEXT) }]);
      await page.locator('#upload-submit').click();
      await expect.poll(() => page.locator('#upload-result').textContent()).toContain('echidna-networks.txt');
      const refusal = (await page.locator('#upload-result').textContent())!;
      expect(refusal).toContain('替换同名文献');
      expect(refusal).not.toMatch(/replace=1|Tick/);
      expect(await page.locator('#upload-indexing').isHidden()).toBe(true);
    } finally {
      await page.context().clearCookies({ name: 'duikou_lang' });
    }
    // Chromium logs the refused request (409) itself; that one is expected.
    problems.errors = problems.errors.filter((e) => !e.includes('status of 409'));

    // open one and correct its title
    await page.locator('#doclist a', { hasText: 'Echidna Policy Networks' }).click();
    await page.waitForURL(/\/documents\/echidna-networks/);
    await page.locator('#doc-edit summary').click();
    await page.locator('#meta-title-input').fill('Echidna Networks in Counterpart Support');
    await page.locator('#meta-authors-input').fill('Li Hua; 王明');
    await page.locator('#meta-year-input').fill('2021');
    await page.locator('#meta-save').click();
    await page.locator('#meta-msg').waitFor({ state: 'visible' });
    expect(await page.locator('#meta-msg').textContent()).toContain('Saved');
    expect(await page.locator('#meta-title').textContent()).toBe('Echidna Networks in Counterpart Support');
    expect(await page.locator('#meta-authors').textContent()).toBe('Li Hua, 王明');
    expect(await page.locator('#meta-year').textContent()).toBe('2021');
    expect(await page.title()).toBe('Echidna Networks in Counterpart Support · duikou');
    expect(engine.requireDocument('echidna-networks')).toMatchObject({ title: 'Echidna Networks in Counterpart Support', year: 2021 });
    const meta = JSON.parse(readFileSync(join(corpus, 'duikou.metadata.json'), 'utf8'));
    expect(meta['echidna-networks']).toEqual({ title: 'Echidna Networks in Counterpart Support', authors: ['Li Hua', '王明'], year: 2021 });

    // a bad year is explained, not saved
    await page.locator('#meta-year-input').fill('abc');
    await page.locator('#meta-save').click();
    expect(await page.locator('#meta-msg').textContent()).toContain('not a year');
  }, 60_000);

  it('removes a paper through the in-page confirmation, keeping its annotations unless asked', async () => {
    const doc = engine.requireDocument('wang-counterpart-support-policy');
    const a = store.create({ docId: doc.id, start: 0, end: 10, tags: ['t'] }, doc);
    await page.goto(`${server.url}/documents/${doc.id}`);
    expect(await page.locator('#remove-form').isVisible()).toBe(false);
    await page.locator('#doc-remove summary').click();
    await page.locator('#remove-form').waitFor({ state: 'visible' });
    expect(await page.locator('#remove-form').textContent()).toContain('also delete its 1 annotation');
    expect(await page.locator('#remove-annotations').isChecked()).toBe(false);
    await page.locator('#remove-confirm').click();
    await page.waitForURL(/\/documents$/);
    await page.locator('#flash').waitFor({ state: 'visible' });
    expect(await page.locator('#flash').textContent()).toContain('kept as orphans');
    expect(await page.locator('#doclist').textContent()).not.toContain(doc.id);
    expect(store.get(a.id)?.status).toBe('orphaned');
    expect(readdirSync(join(data, 'removed'))).toHaveLength(1);
  }, 60_000);
});
