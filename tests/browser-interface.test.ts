/// <reference lib="dom" />
/**
 * The interface in a real browser, in each language, at desktop and phone
 * width, in light and dark mode: every page speaks one interface language
 * (no label of the other one), has one h1, landmarks and a label on every
 * control; no page is wider than a 390 px phone; on a phone the first result
 * is on the first screen; the header's switch changes the language and it
 * stays changed; a touch selection opens the annotate popover.
 *
 * "A label of the other language" is text the interface wrote: every text
 * node, `aria-label`, `placeholder` and `title` outside elements that declare
 * another language (`lang`: passages, paper text, titles, tags, quotes,
 * queries) or `translate="no"` (ids), and outside SVG plots. In the English
 * interface that text holds no Han character; in the Chinese one it holds none
 * of {@link ENGLISH_LABEL_WORDS}, the words the English catalogue's labels use.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import { RoundStore } from '../src/store/rounds.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import { browserSkipReason, launchBrowser, watchProblems } from './helpers/browser.js';
import { type TestServerWithStore, startServerWithStore } from './helpers/server.js';

const ZH = 'wang-duikou-zhiyuan-mechanism';
const EN = 'wang-counterpart-support-policy';
const Q = '对口支援';

const skip = browserSkipReason();
if (skip) console.warn(`Skipping the browser tests: ${skip}`);

/** Words of English labels that never occur in the Chinese catalogue's labels. */
const ENGLISH_LABEL_WORDS = [
  'Search',
  'Documents',
  'Annotations',
  'Tags',
  'Rounds',
  'Save',
  'Cancel',
  'Delete',
  'Keep',
  'Clear',
  'Show',
  'Filter',
  'Filters',
  'Export',
  'Download',
  'Language',
  'Document',
  'View',
  'Passages',
  'passages',
  'Previous',
  'Next',
  'Paper',
  'Papers',
  'Keyword',
  'Title',
  'Authors',
  'Year',
  'Venue',
  'Sort',
  'Context',
  'Window',
  'Tag',
  'Note',
  'Colour',
  'Edit',
  'Rename',
  'Merge',
  'Annotate',
  'Find',
  'match',
  'matches',
  'occurrences',
  'showing',
  'Examples',
  'Skip',
  'Results',
  'Concordance',
  'Collocates',
  'Dispersion',
  'Occurrences',
  'Format',
  'Group',
  'Remove',
  'Coded',
  'Read',
  'the',
  'of',
  'and',
  'in',
];
const ENGLISH_RE = new RegExp(`\\b(?:${ENGLISH_LABEL_WORDS.join('|')})\\b`);
const HAN_RE = /\p{Script=Han}/u;

/** The pages walked, with what makes them show most of their labels. */
const PAGES = [
  '/',
  `/search?q=${encodeURIComponent(Q)}`,
  `/search?q=${encodeURIComponent(Q)}&view=kwic`,
  `/search?q=${encodeURIComponent(Q)}&group=paper`,
  `/search?q=${encodeURIComponent('zzqqxx')}`,
  `/search?q=${encodeURIComponent(`${Q} zzqqxx`)}`,
  `/search?q=${encodeURIComponent('lang:xx')}`,
  `/search?q=${encodeURIComponent(Q)}&view=nope`,
  '/documents',
  `/documents/${ZH}?q=${encodeURIComponent(Q)}`,
  `/documents/${EN}`,
  `/concordance?q=${encodeURIComponent(Q)}`,
  `/collocates?q=${encodeURIComponent(Q)}`,
  `/dispersion?q=${encodeURIComponent(Q)}`,
  '/annotations',
  '/tags',
  '/cooccurrence',
  '/rounds',
  '/nothing-here',
];

interface PageReport {
  lang: string;
  labels: string[];
  h1: number;
  landmarks: { header: number; nav: number; main: number };
  unlabelled: string[];
  scrollWidth: number;
  clientWidth: number;
}

/** What a page shows of itself: its interface text, headings, landmarks, unlabelled controls and width. */
function report(page: Page): Promise<PageReport> {
  return page.evaluate(() => {
    const uiLang = document.documentElement.lang;
    const other = (el: Element | null): boolean => {
      const l = el?.closest('[lang]');
      if (l && l !== document.documentElement && l.getAttribute('lang') !== uiLang) return true;
      // A researcher's note is content, not a label, in whatever language it is written.
      return !!el?.closest('[translate="no"], svg, script, style, code[lang], datalist, .card-note, textarea[name="note"]');
    };
    const labels: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = n.textContent?.trim() ?? '';
      if (text && !other(n.parentElement)) labels.push(text);
    }
    for (const el of document.body.querySelectorAll('[aria-label], [placeholder], [title]')) {
      // A co-occurrence cell's name is its two tags and its count: content, not a label.
      if (other(el) || el.matches('table.cooc a')) continue;
      for (const a of ['aria-label', 'placeholder', 'title']) {
        const v = el.getAttribute(a);
        if (v && !(a === 'placeholder' && el.matches('input[type="search"]'))) labels.push(`@${a}: ${v}`);
      }
    }
    const unlabelled: string[] = [];
    for (const el of document.querySelectorAll('input, select, textarea, button')) {
      if (el instanceof HTMLInputElement && el.type === 'hidden') continue;
      const c = el as HTMLInputElement;
      const named =
        (c.labels && c.labels.length > 0) ||
        c.getAttribute('aria-label') ||
        c.getAttribute('aria-labelledby') ||
        (el.tagName === 'BUTTON' && (el.textContent ?? '').trim() !== '');
      if (!named) unlabelled.push(el.outerHTML.slice(0, 120));
    }
    return {
      lang: uiLang,
      labels,
      h1: document.querySelectorAll('h1').length,
      landmarks: {
        header: document.querySelectorAll('header').length,
        nav: document.querySelectorAll('nav').length,
        main: document.querySelectorAll('main').length,
      },
      unlabelled,
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
    };
  });
}

let dir: string;
let engine: Engine;
let server: TestServerWithStore;

describe.skipIf(skip !== null)('one interface language, accessible, on phones too', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'duikou-browser-ui-'));
    cpSync(fileURLToPath(new URL('../corpus', import.meta.url)), join(dir, 'corpus'), { recursive: true });
    engine = await openCorpus(join(dir, 'corpus'));
    server = await startServerWithStore(engine);
    // Annotations with Chinese and English tags, so the annotations, tags and co-occurrence pages have content.
    const zh = engine.requireDocument(ZH);
    const at = zh.text.indexOf(Q);
    server.store.create({ docId: ZH, start: at, end: at + Q.length, tags: ['援藏/教育', 'policy'], note: '定义 definition' }, zh);
    const e = engine.requireDocument(EN);
    const word = e.text.indexOf('counterpart');
    server.store.create({ docId: EN, start: word, end: word + 'counterpart'.length, tags: ['policy'] }, e);
    // A closed coding round with two coders who disagree, for the agreement and comparison pages.
    // (The round's coders need no accounts here: with none, the app keeps its one implicit owner and no sign-in.)
    const rounds = new RoundStore(server.store.db);
    const round = rounds.create({ name: 'pilot', docIds: [ZH], coders: ['li', 'zhang'] }, 'owner');
    const second = zh.text.indexOf(Q, at + 1);
    server.store.create({ docId: ZH, start: second, end: second + Q.length, tags: ['援藏'] }, zh, 'li');
    server.store.create({ docId: ZH, start: second, end: second + Q.length, tags: ['policy'] }, zh, 'zhang');
    rounds.close(round.id);
    PAGES.push(`/rounds/${round.id}`, `/rounds/${round.id}/compare?doc=${ZH}&a=li&b=zhang`);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const lang of ['en', 'zh'] as const) {
    it(`every page speaks ${lang} only, with one h1, landmarks and labelled controls`, async () => {
      const browser = await launchBrowser({ width: 1280, height: 900, lang });
      try {
        const page = await browser.context.newPage();
        const problems = await watchProblems(page);
        for (const path of PAGES) {
          const res = await page.goto(`${server.url}${path}`);
          expect(res?.status(), path).toBeLessThan(/nothing-here|lang%3Axx|view=nope/.test(path) ? 500 : 400);
          expect(new URL(page.url()).pathname, 'no redirect').toBe(new URL(path, server.url).pathname);
          const r = await report(page);
          expect(r.lang, path).toBe(lang === 'zh' ? 'zh-Hans' : 'en');
          const wrong = r.labels.filter((l) => (lang === 'en' ? HAN_RE.test(l) : ENGLISH_RE.test(l)));
          expect(wrong, `${lang} ${path}`).toEqual([]);
          expect(r.h1, `${path}: h1`).toBe(1);
          expect(r.landmarks, path).toMatchObject({ header: 1, main: 1 });
          expect(r.landmarks.nav, path).toBeGreaterThanOrEqual(1);
          expect(r.unlabelled, path).toEqual([]);
        }
        // The error pages walked answer 400 and 404 on purpose.
        expect(problems.errors.filter((e) => !/status of 40[04]/.test(e))).toEqual([]);
      } finally {
        await browser.close();
      }
    }, 120_000);
  }

  it('the annotation filters’ labels and fields line up in one row on a wide screen', async () => {
    const browser = await launchBrowser({ width: 1280, height: 900, lang: 'en' });
    try {
      const page = await browser.context.newPage();
      await page.goto(`${server.url}/annotations`);
      // Tag and Text are text fields, Paper a select: the select was shorter, so its label sat lower.
      const boxes = await page.evaluate(() =>
        [...document.querySelectorAll('.annfilter label')].slice(0, 3).map((l) => {
          const field = l.querySelector('input, select')!.getBoundingClientRect();
          return { label: l.getBoundingClientRect().top, top: field.top, bottom: field.bottom };
        }),
      );
      expect(boxes).toHaveLength(3);
      for (const b of boxes.slice(1)) {
        expect(Math.abs(b.label - boxes[0]!.label), 'label').toBeLessThanOrEqual(1);
        expect(Math.abs(b.top - boxes[0]!.top), 'field top').toBeLessThanOrEqual(1);
        expect(Math.abs(b.bottom - boxes[0]!.bottom), 'field bottom').toBeLessThanOrEqual(1);
      }
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('the header switches the language, and the choice is remembered over the browser’s', async () => {
    const browser = await launchBrowser({ lang: 'en' });
    try {
      const page = await browser.context.newPage();
      await page.goto(`${server.url}/search?q=${encodeURIComponent(Q)}`);
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
      expect(await page.getByRole('button', { name: 'Search', exact: true }).count()).toBe(1);
      await page.locator('.langswitch button').click();
      await page.waitForURL(/\/search\?q=/);
      expect(await page.locator('html').getAttribute('lang')).toBe('zh-Hans');
      expect(await page.getByRole('button', { name: '检索', exact: true }).count()).toBe(1);
      // Another page, still Chinese although the browser asks for English.
      await page.goto(`${server.url}/documents`);
      expect(await page.locator('h1').textContent()).toBe('文献');
      await page.locator('.langswitch button').click();
      await page.waitForURL(/\/documents$/);
      expect(await page.locator('h1').textContent()).toBe('Documents');
      // In a paper, the switch comes back to the passage being read (the address's #…), not the top.
      const deep = engine.requireDocument(ZH).passages.at(-5)!;
      await page.goto(`${server.url}/documents/${ZH}#p-${deep.id}`);
      expect(await page.locator(`#p-${deep.id}`).count()).toBe(1);
      await page.locator('.langswitch button').click();
      await page.waitForURL(new RegExp(`/documents/${ZH}#p-${deep.id}$`));
      expect(await page.locator('html').getAttribute('lang')).toBe('zh-Hans');
      expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(1000);
    } finally {
      await browser.close();
    }
  }, 60_000);

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`no page is wider than a 390 px phone (${colorScheme}), and results come first`, async () => {
      const browser = await launchBrowser({ width: 390, height: 844, lang: 'zh', colorScheme, hasTouch: true });
      try {
        const page = await browser.context.newPage();
        for (const lang of ['zh', 'en']) {
          for (const path of PAGES) {
            await page.goto(`${server.url}${path}`);
            const r = await report(page);
            expect(r.scrollWidth, `${lang} ${colorScheme} ${path} overflows`).toBeLessThanOrEqual(r.clientWidth);
          }
          await page.goto(`${server.url}/search?q=${encodeURIComponent(Q)}`);
          const top = await page
            .locator('.hit')
            .first()
            .evaluate((el) => el.getBoundingClientRect().top);
          expect(top, `${lang}: first result at ${top}px`).toBeLessThan(300);
          await page.locator('.langswitch button').click();
          await page.waitForLoadState();
        }
      } finally {
        await browser.close();
      }
    }, 120_000);
  }

  it('the reader keeps the paper and the section being read at the top, and focus is visible', async () => {
    const browser = await launchBrowser({ width: 1280, height: 800, lang: 'en' });
    try {
      const page = await browser.context.newPage();
      const doc = engine.requireDocument(ZH);
      const headings = doc.passages.filter((p) => p.kind === 'heading');
      expect(headings.length).toBeGreaterThan(3);
      const h = headings[2]!;
      await page.goto(`${server.url}/documents/${ZH}?q=${encodeURIComponent(Q)}`);
      // Scroll until the heading has just passed under the bar.
      const headingText = await page.evaluate((id) => {
        const el = document.getElementById(id)!;
        el.scrollIntoView();
        // Now the bar is stuck at the top: put the heading just under it.
        const bar = document.getElementById('reader-head')!.getBoundingClientRect();
        window.scrollBy(0, el.getBoundingClientRect().top - bar.bottom + 2);
        return el.textContent!.trim();
      }, `p-${h.id}`);
      expect(headingText.replace(/\s/g, '')).toBe(doc.text.slice(h.start, h.end).replace(/\s/g, ''));
      await expect.poll(() => page.locator('#reader-section').textContent()).toBe(headingText);
      const bar = await page.locator('#reader-head').boundingBox();
      expect(bar?.y).toBe(0);
      expect(await page.locator('#reader-head .reader-paper').textContent()).toBe(doc.title);
      // Keyboard focus draws a ring.
      await page.goto(`${server.url}/search`);
      for (const expected of ['skip', 'brand']) {
        await page.keyboard.press('Tab');
        const focus = await page.evaluate(() => {
          const el = document.activeElement as HTMLElement;
          const st = getComputedStyle(el);
          return { cls: el.className, style: st.outlineStyle, width: parseFloat(st.outlineWidth) };
        });
        expect(focus.cls).toContain(expected);
        expect(focus.style).toBe('solid');
        expect(focus.width).toBeGreaterThanOrEqual(2);
      }
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('a touch selection in a paper opens the annotate popover', async () => {
    const browser = await launchBrowser({ width: 390, height: 844, lang: 'en', hasTouch: true });
    try {
      const page = await browser.context.newPage();
      const problems = await watchProblems(page);
      const text = engine.requireDocument(ZH).text;
      await page.goto(`${server.url}/documents/${ZH}`);
      // A tap (a touch pointer), then the selection a long press and its handles make.
      await page.locator('.doc-meta').tap();
      // Let the tap's compatibility mouse events pass: after them, only the selection can open the popover.
      await page.waitForTimeout(800);
      expect(await page.locator('#ann-pop').isHidden()).toBe(true);
      await page.evaluate((q) => {
        const walker = document.createTreeWalker(document.querySelector('article.paper')!, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          const i = n.textContent!.indexOf(q);
          if (i >= 0 && !n.parentElement!.closest('mark.hl')) return window.getSelection()!.setBaseAndExtent(n, i, n, i + q.length);
        }
        throw new Error(`${q} not in the page`);
      }, Q);
      await page.locator('#ann-pop').waitFor({ state: 'visible', timeout: 5000 });
      expect(await page.locator('#ann-quote').textContent()).toBe(Q);
      await page.locator('#ann-tags').fill('touch');
      await page.locator('#ann-save').click();
      await page.locator('#ann-pop').waitFor({ state: 'hidden' });
      const made = server.store.list({ tag: 'touch' });
      expect(made).toHaveLength(1);
      expect(text.slice(made[0]!.start, made[0]!.end)).toBe(Q);
      expect(problems.errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
