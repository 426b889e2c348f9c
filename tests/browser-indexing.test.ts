/// <reference lib="dom" />
/**
 * A page opened while the papers are being indexed shows what was indexed by
 * then; when indexing ends it is brought up to date: reloaded at once when
 * the user has nothing under way, else offered with a button.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { loadDocument } from '../src/pipeline/load.js';
import type { IndexStatus } from '../src/library/watch.js';
import { type TestBrowser, browserSkipReason, launchBrowser, pagePerTest } from './helpers/browser.js';
import { type TestServer, startServer } from './helpers/server.js';
import { SAMPLE } from './helpers/sample.js';

const skip = browserSkipReason();
if (skip) console.warn(`Skipping the browser tests: ${skip}`);

const FIRST = 'zhou-partner-assistance-overview.txt';
const LATER = ['wang-counterpart-support-policy.txt', 'zheng-wu-task-oriented-network.txt'];

let engine: Engine;
let server: TestServer;
let browser: TestBrowser;
let page: Page;
const status: IndexStatus = { indexing: false, progress: null, last: null, problems: [] };

/** Indexing under way with only the first paper in. */
async function indexingWithFirstPaperOnly() {
  for (const d of engine.documents()) engine.removeDocument(d.id);
  engine.addDocument(await loadDocument(SAMPLE, FIRST, {}));
  status.indexing = true;
  status.progress = { done: 1, total: 3, bytes: 1000, totalBytes: 3000, file: FIRST, etaMs: null };
}

/** Indexing ends with every paper in. */
async function indexingEnds() {
  for (const f of LATER) engine.addDocument(await loadDocument(SAMPLE, f, {}));
  status.indexing = false;
  status.progress = null;
}

/** The number of passages the results page says match (0 when it says none do). */
const count = async (p: Page) => {
  const strong = p.locator('.count strong');
  return (await strong.count()) === 0 ? 0 : Number(await strong.textContent());
};

describe.skipIf(skip !== null)('a page opened during indexing', () => {
  beforeAll(async () => {
    engine = new Engine();
    server = await startServer({ engine, status });
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  pagePerTest(
    () => browser,
    (p) => {
      page = p;
    },
  );
  beforeEach(indexingWithFirstPaperOnly);

  it('reloads its results when indexing ends and nothing is under way', async () => {
    await page.goto(`${server.url}/search?q=${encodeURIComponent('counterpart support')}`);
    await expect.poll(() => page.locator('#indexing').count()).toBe(1);
    const before = await count(page);
    await indexingEnds();
    await page.waitForURL(/counterpart/, { waitUntil: 'load' });
    await expect.poll(() => page.locator('#indexing').count(), { timeout: 10_000 }).toBe(0);
    const after = await count(page);
    expect(after).toBeGreaterThan(before);
    expect(after).toBe(engine.search('counterpart support').total);
  });

  it('offers to reload, without reloading, while the user is typing a query', async () => {
    await page.goto(`${server.url}/search?q=${encodeURIComponent('counterpart support')}`);
    const before = await count(page);
    await page.locator('#q').click();
    await page.keyboard.type(' 2008');
    await indexingEnds();
    const button = page.locator('#indexing-reload');
    await expect.poll(() => button.count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('#q').inputValue()).toBe('counterpart support 2008');
    expect(await count(page)).toBe(before);
    await button.click();
    await page.waitForLoadState('load');
    await expect.poll(() => count(page), { timeout: 10_000 }).toBe(engine.search('counterpart support').total);
    expect(await page.locator('#indexing').count()).toBe(0);
  });
});
