/**
 * The message catalogues: Chinese has exactly English's keys, with the same
 * placeholders; every key a view or page script names exists; messages from
 * the code ("English (中文)") are split by language; the language is picked
 * from the cookie, then Accept-Language.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import { copySample } from './helpers/sample.js';
import { type TestServer, startServer, startServerWithStore } from './helpers/server.js';
import { CATALOGUES, errorText, localMessage, textLang, translator } from '../src/http/i18n.js';
import { en, zh } from '../src/http/messages.js';
import { escapeHtml } from '../src/http/passage-html.js';
import { PASSAGE_KINDS } from '../src/core/types.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const placeholders = (m: string) => [...m.matchAll(/\{(\w+)\}/g)].map((x) => x[1]).sort();
const tags = (m: string) => [...m.matchAll(/<\/?([a-z]+)/g)].map((x) => x[1]).sort();

describe('the catalogues', () => {
  it('Chinese has every English key and no other, none empty', () => {
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    for (const [k, v] of Object.entries(zh)) expect(v.trim(), k).not.toBe('');
    for (const [k, v] of Object.entries(en)) expect(v.trim(), k).not.toBe('');
  });

  it('each message has the same placeholders and markup in both languages', () => {
    for (const k of Object.keys(en) as (keyof typeof en)[]) {
      expect(placeholders(zh[k]), k).toEqual(placeholders(en[k]));
      expect(tags(zh[k]), k).toEqual(tags(en[k]));
    }
  });

  it('English labels hold no Chinese, and Chinese labels are Chinese', () => {
    const han = /\p{Script=Han}/u;
    // Examples of Chinese tags and the language switch's own name are meant to be Chinese.
    const exampleKeys = new Set(['tags.help']);
    for (const [k, v] of Object.entries(en)) if (!exampleKeys.has(k)) expect(han.test(v), `${k}: ${v}`).toBe(false);
    // Names, formats and numbers may stay as they are; anything with a word of English prose must have Chinese too.
    for (const [k, v] of Object.entries(zh))
      if (/\b[a-z]{4,}\b[^/]*\b[a-z]{4,}\b/.test(v.replace(/<[^>]+>|\{\w+\}/g, ''))) {
        expect(han.test(v), `${k}: ${v}`).toBe(true);
      }
  });

  it('every key a view uses exists, including the ones built from a value', () => {
    const used = new Set<string>();
    for (const f of readdirSync(`${ROOT}views`)) {
      const src = readFileSync(`${ROOT}views/${f}`, 'utf8');
      for (const m of src.matchAll(/\bt(?:\.n|\.html)?\('([\w.-]+)'\s*[,)]/g)) used.add(m[1]!);
      for (const m of src.matchAll(/\[\s*'[^']*',\s*'([\w.]+)'\s*\]/g)) used.add(m[1]!); // the search examples
    }
    expect(used.size).toBeGreaterThan(150);
    for (const k of used) expect(k in en, k).toBe(true);
    const built = {
      'kind.': PASSAGE_KINDS,
      'role.': ['owner', 'coder', 'reader'],
      'round.': ['open', 'closed'],
      'round.unit.': ['characters', 'passages'],
      'round.help.': ['characters', 'passages'],
      'sort.': ['doc', 'left', 'right', 'position'],
      'tab.': ['concordance', 'collocates', 'dispersion'],
      'format.': ['md', 'docx', 'csv', 'qdpx', 'json'],
      'asort.': ['paper', 'position', 'date', 'tag'],
    };
    for (const [prefix, values] of Object.entries(built)) for (const v of values) expect(`${prefix}${v}` in en, `${prefix}${v}`).toBe(true);
  });

  it('every key a page script uses exists among the js. keys', () => {
    for (const f of readdirSync(`${ROOT}public/js`)) {
      const src = readFileSync(`${ROOT}public/js/${f}`, 'utf8');
      if (!src.includes("from './i18n.js'")) continue;
      for (const m of src.matchAll(/\bt\('(\w+)'/g)) expect(`js.${m[1]}` in en, `${f}: ${m[1]}`).toBe(true);
    }
  });
});

describe('the translator', () => {
  it('fills placeholders, picks the singular, and escapes parameters in markup', () => {
    const t = translator('en');
    expect(t('search.showing', { from: 1, to: 20 })).toBe('showing 1–20');
    expect(t.n('cards.count', 1)).toBe('1 annotation');
    expect(t.n('cards.count', 2)).toBe('2 annotations');
    expect(t.html('search.none', { q: '<b>x</b>', ql: 'en' })).toBe('No passages match <q lang="en">&lt;b&gt;x&lt;/b&gt;</q>.');
    // Quotes too, so a parameter is safe inside an attribute value; other text, Chinese and beyond the BMP, as it is.
    const q = `"援藏" & 'x' <𠀀>`;
    const escaped = '&quot;援藏&quot; &amp; &#39;x&#39; &lt;𠀀&gt;';
    expect(t.html('search.none', { q, ql: 'en' })).toBe(`No passages match <q lang="en">${escaped}</q>.`);
    expect(escapeHtml(q)).toBe(escaped);
    expect(translator('zh').n('cards.count', 1)).toBe('1 条标注');
    expect(() => t('no.such.key' as never)).toThrow(/no\.such\.key/);
    expect(CATALOGUES.zh['nav.search']).toBe('检索');
  });

  it.each([
    ['Add at least one search term / 请输入检索词', 'Add at least one search term', '请输入检索词'],
    ['A tag cannot be empty (标签不能为空)', 'A tag cannot be empty', '标签不能为空'],
    [
      'The disk is full: nothing was saved. Free some space (磁盘已满，未保存)',
      'The disk is full: nothing was saved. Free some space',
      '磁盘已满，未保存',
    ],
    [
      'Tag "援藏" is used by 2 annotation(s); detach it first (标签正在使用中)',
      'Tag "援藏" is used by 2 annotation(s); detach it first',
      '标签正在使用中',
    ],
    [
      'Something only in English (see the README)',
      'Something only in English (see the README)',
      'Something only in English (see the README)',
    ],
    ['Removed a.txt; it had no annotations.', 'Removed a.txt; it had no annotations.', 'Removed a.txt; it had no annotations.'],
  ])('shows %j in one language', (message, english, chinese) => {
    expect(localMessage(message, 'en')).toBe(english);
    expect(localMessage(message, 'zh')).toBe(chinese);
  });
});

describe('the lang of what researchers write (titles, tags, notes, queries)', () => {
  it.each([
    ['对口支援', 'zh-Hans'],
    ['Counterpart support', 'en'],
    // An English note quoting a Chinese term reads as English, a Chinese one with an English word as Chinese.
    ['Defines 对口支援 as a governance mechanism', 'en'],
    ['对口支援是一种治理机制（governance）', 'zh-Hans'],
    ['GDP增长', 'zh-Hans'],
    // Ideographs outside the BMP (extension B) count as Chinese.
    ['𠮷野家', 'zh-Hans'],
    ['2008', 'en'],
    ['', 'en'],
    [null, 'en'],
  ] as const)('%j is %s', (text, lang) => {
    expect(textLang(text)).toBe(lang);
  });
});

describe('error messages on pages', () => {
  it.each([
    ['bad_tag', 'A tag cannot be empty (标签不能为空)', 'en', 'A tag cannot be empty', null],
    ['bad_tag', 'A tag cannot be empty (标签不能为空)', 'zh', '标签不能为空', 'A tag cannot be empty'],
    ['empty_query', '请输入检索词 only', 'zh', '请输入检索词 only', null],
    ['bad_parameter', '"view" must be list or kwic', 'en', '"view" must be list or kwic', null],
    ['bad_parameter', '"view" must be list or kwic', 'zh', '地址中的参数无效。', '"view" must be list or kwic'],
    ['no_such_code', 'Only English here', 'zh', 'Only English here', null],
  ] as const)('%s %j in %s', (code, message, lang, text, detail) => {
    expect(errorText(code, message, lang)).toEqual({ text, detail });
  });
});

describe('the interface language of a request', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ engine: await openCorpus(copySample()) });
  }, 60_000);
  afterAll(() => server?.close());
  const htmlLang = async (headers: Record<string, string>) => {
    const html = await (await fetch(`${server.url}/documents`, { headers })).text();
    return /<html lang="([^"]+)"/.exec(html)?.[1];
  };

  it.each([
    [{ 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8' }, 'zh-Hans'],
    [{ 'accept-language': 'en-GB,en;q=0.9' }, 'en'],
    [{ 'accept-language': 'fr-FR, zh-TW;q=0.5' }, 'zh-Hans'],
    [{ 'accept-language': 'fr-FR' }, 'en'],
    [{}, 'en'],
    [{ 'accept-language': 'zh-CN', cookie: 'duikou_lang=en' }, 'en'],
    [{ 'accept-language': 'en', cookie: 'duikou_lang=zh' }, 'zh-Hans'],
    [{ 'accept-language': 'en', cookie: 'duikou_lang=xx' }, 'en'],
  ])('%j gives lang=%s', async (headers, lang) => {
    expect(await htmlLang(headers)).toBe(lang);
  });

  it('a paper’s page says how to select text by keyboard for annotating, in the interface language only', async () => {
    const coding = await startServerWithStore(await openCorpus(copySample()));
    try {
      const list = await (await fetch(`${coding.url}/documents`)).text();
      const href = /href="(\/documents\/[^"?#/]+)"/.exec(list)?.[1];
      expect(href, 'a paper on the list').toBeDefined();
      const note = async (lang: string) => {
        const html = await (await fetch(coding.url + href!, { headers: { 'accept-language': lang } })).text();
        return /<details class="keyboard-help"><summary>([^<]*)<\/summary><p>([^]*?)<\/p><\/details>/.exec(html)?.slice(1);
      };
      expect(await note('en')).toEqual([en['kbd.summary'], en['kbd.help']]);
      expect(await note('zh-CN')).toEqual([zh['kbd.summary'], zh['kbd.help']]);
      // The note names the key a researcher holds to select.
      expect(en['kbd.help']).toMatch(/<kbd>Shift<\/kbd>/);
    } finally {
      await coding.close();
    }
  });

  it('the sign-in page speaks the browser’s language before anyone is signed in', async () => {
    const gated = await startServer({
      engine: await openCorpus(copySample(['wang-counterpart-support-policy.txt'])),
      access: { auth: { token: 'a-secret-token' } },
    });
    try {
      const zh = await (await fetch(`${gated.url}/login`, { headers: { 'accept-language': 'zh-CN' } })).text();
      expect(zh).toContain('<html lang="zh-Hans">');
      expect(zh).toContain('访问令牌');
      expect(zh).not.toContain('Access token');
      const en = await (await fetch(`${gated.url}/login`, { headers: { 'accept-language': 'en' } })).text();
      expect(en).toContain('Access token');
      expect(en).not.toContain('访问令牌');
    } finally {
      await gated.close();
    }
  });

  it('the switch sets a cookie for a year and goes back to the page, never to another site', async () => {
    const post = (body: string) =>
      fetch(`${server.url}/lang`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
        body,
      });
    const res = await post('lang=zh&back=%2Fsearch%3Fq%3Dx');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/search?q=x');
    expect(res.headers.get('set-cookie')).toMatch(/^duikou_lang=zh;.*Max-Age=31536000/);
    for (const back of ['//evil.example/', 'https://evil.example/', '/\\evil.example', '']) {
      expect((await post(`lang=en&back=${encodeURIComponent(back)}`)).headers.get('location')).toBe('/');
    }
  });
});
