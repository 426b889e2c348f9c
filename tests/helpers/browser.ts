/// <reference lib="dom" />
/**
 * A real browser for tests: Debian's Chromium driven by playwright-core, with
 * a fresh profile in a temp folder. Where /usr/bin/chromium is missing the
 * suites are skipped — except in CI, where a missing browser is a failure.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterEach, beforeEach, expect } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser suites cannot run here, or null when they can (or must: in CI they never skip). */
export function browserSkipReason(): string | null {
  if (existsSync(CHROMIUM) || process.env.CI) return null;
  return `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser tests`;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launch Chromium with a fresh temp profile (interface in `lang`, English by default); `close` removes the profile. */
export async function launchBrowser(
  options: { width?: number; height?: number; lang?: 'en' | 'zh'; hasTouch?: boolean; colorScheme?: 'light' | 'dark' } = {},
): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing; the browser tests need Debian's chromium`);
  const profile = mkdtempSync(join(tmpdir(), 'duikou-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: options.width ?? 1200, height: options.height ?? 900 },
    // The browser's language picks the interface language (Accept-Language); English unless a test asks for Chinese.
    locale: options.lang === 'zh' ? 'zh-CN' : 'en-GB',
    ...(options.hasTouch ? { hasTouch: true, isMobile: true } : {}),
    ...(options.colorScheme ? { colorScheme: options.colorScheme } : {}),
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Problems a page reported: console errors, page errors and CSP violations. */
export interface PageProblems {
  errors: string[];
}

/**
 * Record console errors, uncaught exceptions and CSP violations of `page`
 * (violations are caught by a listener installed before any page script runs).
 */
export async function watchProblems(page: Page): Promise<PageProblems> {
  const problems: PageProblems = { errors: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') problems.errors.push(`console: ${m.text()}`);
    if (m.text().startsWith('CSP violation:')) problems.errors.push(m.text());
  });
  page.on('pageerror', (e) => problems.errors.push(`pageerror: ${e.message}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.log(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return problems;
}

/**
 * Give each test of the enclosing `describe` a fresh page of `browser()`, handed
 * to `use` with its problems, and fail the test if the page logged an error.
 */
export function pagePerTest(browser: () => TestBrowser, use: (page: Page, problems: PageProblems) => void): void {
  let current: { page: Page; problems: PageProblems } | undefined;
  beforeEach(async () => {
    const page = await browser().context.newPage();
    current = { page, problems: await watchProblems(page) };
    use(current.page, current.problems);
  });
  afterEach(async () => {
    await current?.page.close();
    expect(current?.problems.errors).toEqual([]);
  });
}
