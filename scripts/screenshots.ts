/// <reference lib="dom" />
/**
 * Regenerate the README screenshots in docs/screenshots/: the document page
 * with highlights and the annotation popover open, the annotations page, the
 * concordance with a line being coded, collocates, the dispersion plot, the
 * code co-occurrence table, and the comparison view of two coders after a
 * blind round.
 * Uses the real corpus, a throw-away database and Debian's Chromium.
 *
 *   npx tsx scripts/screenshots.ts
 *
 * Chinese needs a CJK font (fonts-noto-cjk); the script warns without one.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { RoundStore } from '../src/store/rounds.js';
import { UserStore } from '../src/store/users.js';
import { launchBrowser } from '../tests/helpers/browser.js';
import { startServer } from '../tests/helpers/server.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT = join(ROOT, 'docs/screenshots');
const ZH = 'wang-duikou-zhiyuan-mechanism';

function hasCjkFont(): boolean {
  try {
    return /cjk/i.test(execFileSync('fc-list', { encoding: 'utf8' }));
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  if (!hasCjkFont()) console.warn('No CJK font found (apt-get install fonts-noto-cjk): Chinese will show as boxes.');
  mkdirSync(OUT, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'duikou-shots-'));
  const engine = await openCorpus(join(ROOT, 'corpus'));
  const store = new AnnotationStore(openDatabase(join(dir, 'duikou.db')));
  const server = await startServer({ engine, store });
  const browser = await launchBrowser({ width: 1100, height: 760 });
  try {
    const doc = engine.requireDocument(ZH);
    const at = (quote: string) => {
      const start = doc.text.indexOf(quote);
      if (start < 0) throw new Error(`not in ${ZH}: ${quote}`);
      return { docId: ZH, start, end: start + quote.length };
    };
    store.create({ ...at('对口支援是中国特色国家治理的重要方式和机制'), tags: ['对口支援/定义'], note: '定义：治理方式与机制' }, doc);
    store.create({ ...at('区域均衡发展、基础设施建设、灾后重建'), tags: ['援藏/教育', 'path dependence'], colour: '#a5d6a7' }, doc);
    const wen = engine.requireDocument('wang-counterpart-support-policy');
    const q = 'The counterpart support system has undergone more than 70 years of development';
    const s = wen.text.indexOf(q);
    store.create(
      {
        docId: wen.id,
        start: s,
        end: s + q.length,
        tags: ['path dependence'],
        note: 'Seventy years: a long institutional history.',
        colour: '#90caf9',
      },
      wen,
    );

    const page = await browser.context.newPage();
    await page.goto(`${server.url}/documents/${ZH}`);
    await page.locator('mark.hl').first().waitFor();
    // select a phrase after the highlights, as a reader would, so the popover opens below it
    const phrase = '尤其是党的十八大以来';
    await page.evaluate((text) => {
      const article = document.querySelector('article.paper')!;
      const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const i = (n as Text).data.indexOf(text);
        if (i < 0) continue;
        const range = document.createRange();
        range.setStart(n, i);
        range.setEnd(n, i + text.length);
        const para = n.parentElement!.closest('.p')!;
        window.scrollTo(0, para.getBoundingClientRect().top + window.scrollY - 90);
        getSelection()!.removeAllRanges();
        getSelection()!.addRange(range);
        n.parentElement!.dispatchEvent(new MouseEvent('mouseup', { bubbles: true, button: 0 }));
        return;
      }
      throw new Error(`${text} is not on the page`);
    }, phrase);
    await page.locator('#ann-pop').waitFor({ state: 'visible' });
    await page.locator('#ann-tags').fill('干部, ');
    await page.locator('#ann-note').fill('十八大以后：机制化');
    const pop = await page.locator('#ann-pop').boundingBox();
    const height = Math.min(760, Math.ceil((pop ? pop.y + pop.height : 700) + 16));
    await page.screenshot({ path: join(OUT, 'document-annotate.png'), clip: { x: 0, y: 0, width: 1100, height } });

    // the cards beside the tag tree, the first one open for recoding
    await page.goto(`${server.url}/annotations`);
    await page.locator('li.card summary').first().click();
    const top = await page.locator('.coding').evaluate((el) => el.getBoundingClientRect().top + window.scrollY);
    await page.screenshot({
      path: join(OUT, 'annotations.png'),
      fullPage: true,
      clip: { x: 0, y: Math.max(0, top - 16), width: 1100, height: 640 },
    });

    // The analysis views: the concordance with a line being coded, collocates, the dispersion plot, co-occurrence.
    store.create({ ...at('中国特色国家治理'), tags: ['治理'], colour: '#f48fb1' }, doc);
    await page.goto(`${server.url}/concordance?${new URLSearchParams({ q: '对口支援', sort: 'right', expand: '0' })}`);
    await page.locator('tr.conc-line').nth(5).locator('button.code-line').click();
    await page.locator('#ann-pop').waitFor({ state: 'visible' });
    await page.locator('#ann-tags').fill('对口支援/来源');
    await page.screenshot({ path: join(OUT, 'concordance.png'), clip: { x: 0, y: 0, width: 1100, height: 760 } });
    await page.goto(`${server.url}/collocates?${new URLSearchParams({ q: 'counterpart', expand: '0' })}`);
    await page.screenshot({ path: join(OUT, 'collocates.png'), clip: { x: 0, y: 0, width: 1100, height: 760 } });
    await page.goto(`${server.url}/dispersion?${new URLSearchParams({ q: '对口支援' })}`);
    await page.screenshot({ path: join(OUT, 'dispersion.png'), clip: { x: 0, y: 0, width: 1100, height: 640 } });
    await page.goto(`${server.url}/cooccurrence`);
    await page.screenshot({ path: join(OUT, 'cooccurrence.png'), clip: { x: 0, y: 0, width: 1100, height: 520 } });
    await comparisonShot(engine, dir);
    const shots = [
      'document-annotate.png',
      'annotations.png',
      'concordance.png',
      'collocates.png',
      'dispersion.png',
      'cooccurrence.png',
      'compare.png',
    ];
    for (const f of shots) console.log(`${f}: ${Math.round(statSync(join(OUT, f)).size / 1024)} KB`);
  } finally {
    await browser.close();
    await server.close();
    store.db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The comparison view of a closed round: two coders' highlights on one paper
 * in two colours, and the disagreements listed. A separate database, with
 * accounts, so the first screenshots keep the single-owner look.
 */
async function comparisonShot(engine: Awaited<ReturnType<typeof openCorpus>>, dir: string): Promise<void> {
  const store = new AnnotationStore(openDatabase(join(dir, 'team.db')));
  const users = new UserStore(store.db);
  await users.add('王芳', 'owner', 'screenshot-owner-password');
  await users.add('li', 'coder', 'screenshot-li-password');
  await users.add('zhang', 'coder', 'screenshot-zhang-password');
  const doc = engine.requireDocument(ZH);
  const at = (quote: string) => {
    const start = doc.text.indexOf(quote);
    if (start < 0) throw new Error(`not in ${ZH}: ${quote}`);
    return { docId: ZH, start, end: start + quote.length };
  };
  const round = new RoundStore(store.db).create({ name: '试编码 pilot round', docIds: [ZH], coders: ['li', 'zhang'] }, '王芳');
  store.create({ ...at('对口支援是中国特色国家治理的重要方式和机制'), tags: ['对口支援/定义'] }, doc, 'li');
  store.create({ ...at('中国特色国家治理的重要方式和机制'), tags: ['对口支援/定义'] }, doc, 'zhang');
  store.create({ ...at('区域均衡发展、基础设施建设、灾后重建'), tags: ['援藏/教育'] }, doc, 'zhang');
  new RoundStore(store.db).close(round.id);
  const server = await startServer({ engine, store, access: { auth: { token: 'screenshot-token-0123456789' } } });
  const browser = await launchBrowser({ width: 1100, height: 760 });
  try {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/login`);
    await page.locator('#name').fill('王芳');
    await page.locator('#password').fill('screenshot-owner-password');
    await page.locator('.login-form button[type=submit]').click();
    await page.waitForURL((u) => u.pathname === '/');
    await page.goto(`${server.url}/rounds/${round.id}/compare?doc=${encodeURIComponent(ZH)}`);
    await page.locator('article mark.hl').first().waitFor();
    await page.screenshot({ path: join(OUT, 'compare.png'), clip: { x: 0, y: 0, width: 1100, height: 760 } });
  } finally {
    await browser.close();
    await server.close();
    store.db.close();
  }
}

await main();
