/**
 * The status bar in a real browser: a broken metadata file dropped into the
 * corpus folder of a running server is shown on the page with its line and
 * column, without any script error or CSP violation, and the bar goes away by
 * itself once the file is fixed.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { openIndexDatabase } from '../src/backends/embedded/index-db.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { CorpusSync, type CorpusWatcher } from '../src/library/watch.js';
import { type TestBrowser, browserSkipReason, launchBrowser, pagePerTest } from './helpers/browser.js';
import { type TestServer, startServer } from './helpers/server.js';

const skip = browserSkipReason();
if (skip) console.log(`skipped: ${skip}`);

const CORPUS = fileURLToPath(new URL('../corpus', import.meta.url));
const ID = 'zhou-partner-assistance-overview';

describe.skipIf(skip !== null)('the status bar', () => {
  const dir = mkdtempSync(join(tmpdir(), 'duikou-status-'));
  const corpus = join(dir, 'corpus');
  let browser: TestBrowser;
  let server: TestServer;
  let sync: CorpusSync;
  let store: AnnotationStore;
  let watcher: CorpusWatcher;
  let page: Page;
  pagePerTest(
    () => browser,
    (p) => (page = p),
  );

  beforeAll(async () => {
    mkdirSync(corpus, { recursive: true });
    copyFileSync(join(CORPUS, `${ID}.txt`), join(corpus, `${ID}.txt`));
    const engine = new Engine();
    store = new AnnotationStore(openDatabase(join(dir, 'data', 'duikou.db')));
    sync = new CorpusSync(engine, openIndexDatabase(join(dir, 'data', 'index.db')), corpus, store, undefined, () => {});
    await sync.request();
    watcher = sync.watch();
    await new Promise<void>((ok) => watcher.once('ready', () => ok()));
    server = await startServer({ engine, store, status: sync.status, sync, corpusDir: corpus, dataDir: join(dir, 'data') });
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await watcher?.close();
    sync?.indexDb.close();
    store?.db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows a broken metadata file with its line and column, and clears when it is fixed', async () => {
    await page.goto(`${server.url}/search?q=Nyingchi`);
    expect(await page.locator('#problems').count()).toBe(0);

    writeFileSync(join(corpus, 'duikou.metadata.json'), `{\n  "${ID}": { "title": "T" },\n}\n`);
    await expect.poll(() => sync.status.problems.length, { timeout: 15_000 }).toBe(1);
    await page.goto(`${server.url}/search?q=Nyingchi`);
    const bar = page.locator('#problems');
    await expect.poll(() => bar.textContent()).toContain('duikou.metadata.json, line 3, column 1');
    // The results are still there under the bar.
    expect(await page.locator('li.hit').count()).toBeGreaterThan(0);

    writeFileSync(join(corpus, 'duikou.metadata.json'), `{\n  "${ID}": { "title": "T" }\n}\n`);
    await expect.poll(() => sync.status.problems.length, { timeout: 15_000 }).toBe(0);
    // status.js polls /api/status and takes the bar away without a reload.
    await expect.poll(() => page.locator('#problems').count(), { timeout: 15_000 }).toBe(0);
  }, 60_000);
});
