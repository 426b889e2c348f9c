/// <reference lib="dom" />
/**
 * DNS rebinding in a real browser: Chromium resolves evil.example to
 * 127.0.0.1, and an attacker's page already loaded from
 * http://evil.example:PORT/ (served here by the test, as the attacker's server
 * served it before the name was rebound) calls duikou's API on its own origin.
 * Without sign-in, the worst case, it must neither write nor read.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { CHROMIUM, CHROMIUM_ARGS, browserSkipReason } from './helpers/browser.js';
import { type TestServer, startServer } from './helpers/server.js';
import { paper } from './helpers/paper.js';

const skip = browserSkipReason();
if (skip) console.warn(`Skipping the browser tests: ${skip}`);
const TEXT = '对口支援 counterpart support 𠀀援藏';

let dir: string;
let store: AnnotationStore;
let server: TestServer;
let context: BrowserContext;

beforeAll(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'duikou-rebind-'));
  const engine = new Engine();
  engine.addDocument(paper('d', TEXT, 'zh', { hash: 'h' }));
  store = new AnnotationStore(openDatabase(join(dir, 'duikou.db')));
  const at = TEXT.indexOf('援藏');
  store.create({ docId: 'd', start: at, end: at + 2, note: 'secret-note-42', tags: ['援藏'] }, engine.requireDocument('d'));
  server = await startServer({ engine, store });
  context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      ...CHROMIUM_ARGS,
      '--host-resolver-rules=MAP evil.example 127.0.0.1',
      // Chromium's own guard (a public page may not call a local address) is off, as it is in
      // other and older browsers: duikou must refuse the requests itself.
      '--disable-features=BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,LocalNetworkAccessChecks',
    ],
  });
}, 120_000);

afterAll(async () => {
  if (skip) return;
  await context?.close();
  await server?.close();
  store?.db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(skip !== null)('DNS rebinding in Chromium', () => {
  it('an attacker page on evil.example:PORT, now resolving to 127.0.0.1, can neither write nor read', async () => {
    const port = new URL(server.url).port;
    const evil = `http://evil.example:${port}`;
    const page = await context.newPage();
    // The attacker's own page, as it was loaded before the rebind; everything after it goes to 127.0.0.1.
    await page.route(`${evil}/`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>cute cats</title>' }),
    );
    await page.goto(`${evil}/`);
    const start = TEXT.indexOf('对口支援');
    const result = await page.evaluate(
      async (body) => {
        const write = await fetch('/api/annotations', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const read = await fetch('/api/export?format=json');
        return { write: write.status, read: read.status, readBody: await read.text() };
      },
      JSON.stringify({ docId: 'd', start, end: start + 4, tags: ['pwned'] }),
    );
    await page.close();
    // The requests reached duikou (a status, not a network error) and were refused by name.
    expect(result.write).toBe(421);
    expect(result.read).toBe(421);
    expect(result.readBody).not.toContain('secret-note-42');
    expect(store.list().map((a) => a.tags)).toEqual([['援藏']]);
  }, 60_000);
});
