/**
 * Near matches: below a short strict result, the passages that hold part of
 * the query — a Chinese run's words apart, one word of several missing — on
 * the five sample papers, through the engine, the API and the search page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import { NEAR_BELOW, NEAR_MAX, type SearchHit, type SearchResult } from '../src/backends/search-contract.js';
import { normalizeText } from '../src/pipeline/normalize.js';
import { runWords } from '../src/pipeline/analyze.js';
import { nearQuery } from '../src/pipeline/best-match.js';
import { parseQuery } from '../src/pipeline/query.js';
import { SAMPLE } from './helpers/sample.js';
import { type TestServer, startServer } from './helpers/server.js';

let engine: Engine;
let server: TestServer;
beforeAll(async () => {
  engine = await openCorpus(SAMPLE);
  server = await startServer({ engine });
});
afterAll(() => server.close());

const search = (q: string, opts: Parameters<Engine['search']>[1] = {}): SearchResult => engine.search(q, { limit: 50, ...opts });
/** A hit's text as the analyzer reads it (traditional → simplified, NFKC), where a Chinese run is looked for. */
const norm = (h: SearchHit): string => normalizeText(h.text);
/** What a hit's marks cover, as written in the paper. */
const marked = (h: SearchHit): string[] => h.matches.map((m) => h.text.slice(m.start - h.start, m.end - h.start));

describe('the words a Chinese run is made of', () => {
  it.each([
    ['汶川地震', ['汶川', '地震']],
    ['横向转移支付', ['横向', '转移', '支付']],
    // 新冠 is no dictionary word: the characters no word covers form a part of their own.
    ['新冠疫情', ['新冠', '疫情']],
    ['对口援疆', ['对口', '援疆']],
    // A part of one character (大别 + 山) would match nearly anything: not split.
    ['大别山', null],
    // No dictionary word inside.
    ['习近平', null],
    ['援藏', null],
  ])('%s → %j', (run, words) => {
    expect(runWords(run)).toEqual(words);
  });
});

describe('the near query', () => {
  it('offers a Chinese run as its words, and keeps exclusions and filters', () => {
    const q = nearQuery(parseQuery('汶川地震 -三峡 lang:zh'));
    expect(q?.clauses).toEqual([[{ kind: 'term', text: '汶川' }], [{ kind: 'term', text: '地震' }]]);
    expect(q?.exclude).toEqual([{ kind: 'term', text: '三峡' }]);
    expect(q?.filters.lang).toBe('zh');
  });

  it('reads a run typed with a question mark as the run', () => {
    expect(nearQuery(parseQuery('新冠疫情？'))?.clauses).toEqual([[{ kind: 'term', text: '新冠' }], [{ kind: 'term', text: '疫情' }]]);
  });

  it('is null where loosening changes nothing: one word, a quoted phrase alone', () => {
    expect(nearQuery(parseQuery('援藏'))).toBeNull();
    expect(nearQuery(parseQuery('Kunshan'))).toBeNull();
    expect(nearQuery(parseQuery('"key node"'))).toBeNull();
  });
});

describe('near matches below a short strict result', () => {
  it('新冠疫情: the hits hold the run; below them, 新冠肺炎疫情 with both words marked', () => {
    const r = search('新冠疫情');
    expect(r.mode).toBe('strict');
    expect(r.total).toBeLessThan(NEAR_BELOW);
    for (const h of r.hits) expect(norm(h)).toContain('新冠疫情');
    const near = r.near ?? [];
    expect(near.length).toBeGreaterThan(0);
    expect(near.length).toBeLessThanOrEqual(NEAR_MAX);
    // Contiguity still holds for the hits: a near match never holds the run, and is never a hit.
    for (const h of near) expect(norm(h)).not.toContain('新冠疫情');
    const hitIds = new Set(r.hits.map((h) => h.passageId));
    for (const h of near) expect(hitIds.has(h.passageId)).toBe(false);
    const apart = near.find((h) => h.text.includes('武汉新冠肺炎疫情防控阻击战'));
    expect(apart).toBeDefined();
    expect(marked(apart!)).toEqual(expect.arrayContaining(['新冠', '疫情']));
    // Holding both words, it ranks above passages holding one.
    const one = near.findIndex((h) => !(norm(h).includes('新冠') && norm(h).includes('疫情')));
    expect(one === -1 || near.indexOf(apart!) < one).toBe(true);
  });

  it('横向转移支付: the reference on 横向财政转移支付 comes first', () => {
    const r = search('横向转移支付');
    // (The English hits are the glossary's translation, horizontal transfer.)
    for (const h of r.hits.filter((x) => x.lang === 'zh')) expect(norm(h)).toContain('横向转移支付');
    expect(r.near?.[0]?.text).toContain('从对口支援到横向财政转移支付');
  });

  it('汶川地震: passages naming 汶川 without 地震 next to it', () => {
    const r = search('汶川地震');
    const near = r.near ?? [];
    expect(near.some((h) => h.text.includes('可以将对口支援划分4种形态'))).toBe(true);
    for (const h of near) expect(norm(h)).not.toContain('汶川地震');
  });

  it('emotional governance: a reference holding one of the two words', () => {
    const r = search('emotional governance');
    expect(r.mode).toBe('strict');
    const ref = (r.near ?? []).find((h) => h.text.includes('The emotional dimension of social construction'));
    expect(ref?.kind).toBe('reference');
    expect(marked(ref!).map((m) => m.toLowerCase())).toContain('emotional');
  });

  it('an excluded word excludes near matches too', () => {
    const r = search('新冠疫情 -三峡');
    expect((r.near ?? []).length).toBeGreaterThan(0);
    for (const h of r.near ?? []) expect(norm(h)).not.toContain('三峡');
  });

  it('only on the page where the strict hits end, never counted in the total', () => {
    const all = search('汶川地震');
    const n = all.total;
    expect(n).toBeGreaterThan(5);
    expect(search('汶川地震', { limit: 5 }).near).toBeUndefined();
    const last = search('汶川地震', { limit: 5, offset: n - 3 });
    expect(last.total).toBe(n);
    expect(last.near?.map((h) => h.passageId)).toEqual(all.near?.map((h) => h.passageId));
  });

  it('not for a long result, with match=strict, or grouped by paper', () => {
    const long = search('对口支援');
    expect(long.total).toBeGreaterThanOrEqual(NEAR_BELOW);
    expect(search('对口支援', { offset: long.total - 1, limit: 10 }).near).toBeUndefined();
    expect(search('新冠疫情', { match: 'strict' }).near).toBeUndefined();
    expect(search('新冠疫情', { group: 'paper' }).near).toBeUndefined();
  });

  it('not in best match, which already ranks by how much of the query a passage holds', () => {
    const r = search('how are village cadres selected and evaluated');
    expect(r.mode).toBe('best');
    expect(r.near).toBeUndefined();
  });
});

describe('near matches over HTTP', () => {
  it('the API lists them apart from the hits, each with its page', async () => {
    const body = await (await fetch(`${server.url}/api/search?q=${encodeURIComponent('新冠疫情')}`)).json();
    expect(body.total).toBe(search('新冠疫情').total);
    expect(body.near.length).toBeGreaterThan(0);
    expect(body.near.some((h: { text: string }) => h.text.includes('武汉新冠肺炎疫情防控阻击战'))).toBe(true);
    expect(body.near[0]).toHaveProperty('page');
    const strict = await (await fetch(`${server.url}/api/search?q=${encodeURIComponent('新冠疫情')}&match=strict`)).json();
    expect(strict.near).toBeUndefined();
  });

  it('the search page shows them under their own heading, in the interface language', async () => {
    const en = await (await fetch(`${server.url}/search?q=${encodeURIComponent('新冠疫情')}`)).text();
    const [hits, near] = en.split('<section class="near"');
    expect(near).toBeDefined();
    expect(near).toContain('Near matches</h2>');
    // The summary says how many are below, and links to them.
    const n = search('新冠疫情', { limit: 20 }).near!.length;
    expect(hits).toContain(`<a href="#near-title">${n} near match${n === 1 ? '' : 'es'} below</a>`);
    expect(near).toContain('武汉<mark');
    expect(hits).not.toContain('武汉新冠肺炎');
    const zh = await (
      await fetch(`${server.url}/search?q=${encodeURIComponent('新冠疫情')}`, { headers: { 'accept-language': 'zh-CN' } })
    ).text();
    expect(zh).toContain('相近的结果</h2>');
    const long = await (await fetch(`${server.url}/search?q=${encodeURIComponent('对口支援')}`)).text();
    expect(long).not.toContain('<section class="near"');
  });

  it('a near match opens in its paper with the words that made it one marked', async () => {
    const page = await (await fetch(`${server.url}/search?q=${encodeURIComponent('新冠疫情')}`)).text();
    const near = page.split('<section class="near"')[1]!;
    const hit = near.split('<li class="hit">').find((h) => h.includes('武汉<mark'))!;
    const href = /<a href="([^"]+)">/.exec(hit.slice(hit.indexOf('hit-link')))![1]!.replaceAll('&amp;', '&');
    expect(href).toContain('near=1');
    const docId = decodeURIComponent(/\/documents\/([^?]+)/.exec(href)![1]!);
    const text = engine.requireDocument(docId).text;
    const at = text.indexOf('武汉新冠肺炎疫情防控阻击战') + '武汉'.length;
    /** The search's marks (they carry the match number) as start-end, not the annotations' highlights. */
    const marks = (html: string): string[] =>
      [...html.matchAll(/<mark\b[^>]*>/g)]
        .map((m) => m[0])
        .filter((tag) => / id="m-\d+"/.test(tag))
        .map((tag) => `${/data-start="(\d+)"/.exec(tag)![1]}-${/data-end="(\d+)"/.exec(tag)![1]}`);
    const opened = await (await fetch(server.url + href)).text();
    expect(opened).toContain('opened from a near match');
    // 新冠 and 疫情 of 新冠肺炎疫情, each marked.
    expect(marks(opened)).toEqual(
      expect.arrayContaining([`${at}-${at + 2}`, `${text.indexOf('疫情', at)}-${text.indexOf('疫情', at) + 2}`]),
    );
    // Opened as a hit, the paper marks only the run where it stands: nothing in that passage.
    const plain = await (await fetch(`${server.url}/documents/${encodeURIComponent(docId)}?q=${encodeURIComponent('新冠疫情')}`)).text();
    expect(plain).not.toContain('opened from a near match');
    expect(marks(plain)).not.toContain(`${at}-${at + 2}`);
    expect(marks(plain).length).toBeGreaterThan(0);
  });
});
