/// <reference lib="dom" />
/**
 * Signing in as a researcher does on a first start: `npm start`'s server
 * prints an address carrying the token; opening it in a real browser leaves a
 * cookie the page cannot read, an address bar without the token, and a
 * working app, while a browser without the cookie is sent to the login page.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestBrowser, browserSkipReason, launchBrowser, watchProblems } from './helpers/browser.js';
import { ROOT, type ServerProcess, startServerProcess, stopProcess } from './helpers/process.js';

const skip = browserSkipReason();
if (skip) console.warn(`Skipping the browser tests: ${skip}`);
const PAPER = 'zhou-partner-assistance-overview';

let dir: string;
let server: ServerProcess | undefined;
let child: ChildProcess | undefined;
let browser: TestBrowser;

beforeAll(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'duikou-signin-'));
  const corpus = join(dir, 'corpus');
  mkdirSync(corpus);
  copyFileSync(join(ROOT, 'corpus', `${PAPER}.txt`), join(corpus, `${PAPER}.txt`));
  // The default: sign-in on, with the token duikou makes in the data folder.
  server = await startServerProcess({ DUIKOU_AUTH: '', DUIKOU_CORPUS: corpus, DUIKOU_DATA: join(dir, 'data') });
  child = server.child;
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  if (skip) return;
  await browser?.close();
  if (child) await stopProcess(child);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(skip !== null)('signing in through the printed address', () => {
  it('trades the token for an HttpOnly cookie, drops it from the address, and opens the app', async () => {
    const { url, signInUrl, token } = server!;
    expect(signInUrl).toContain('/login?token=');
    const page = await browser.context.newPage();
    const problems = await watchProblems(page);
    try {
      // Without the cookie: the login page, not the library.
      await page.goto(`${url}/documents`);
      expect(new URL(page.url()).pathname).toBe('/login');
      expect(await page.content()).not.toContain(PAPER);

      await page.goto(signInUrl!);
      expect(page.url()).toBe(`${url}/`);
      expect(await page.locator('input[name="q"]').count()).toBeGreaterThan(0);
      expect(await page.evaluate(() => document.cookie)).not.toContain(token!);
      const cookies = await browser.context.cookies(url);
      expect(cookies).toEqual([expect.objectContaining({ value: token, httpOnly: true, sameSite: 'Strict' })]);

      // The paper is listed once indexed (the first start indexes it in the background).
      for (let tries = 0; tries < 60; tries++) {
        await page.goto(`${url}/documents`);
        expect(new URL(page.url()).pathname).toBe('/documents');
        if ((await page.content()).includes(PAPER)) break;
        await page.waitForTimeout(500);
      }
      expect(await page.content()).toContain(PAPER);
      // The page's own API calls carry the cookie.
      const status = await page.evaluate(async () => (await fetch('/api/documents')).status);
      expect(status).toBe(200);

      // Signed out (cookies gone): back to the login page.
      await browser.context.clearCookies();
      await page.goto(`${url}/documents`);
      expect(new URL(page.url()).pathname).toBe('/login');
    } finally {
      await page.close();
    }
    expect(problems.errors).toEqual([]);
  }, 120_000);
});
