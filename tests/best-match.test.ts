/**
 * Best match, kind: filters and results grouped by paper, on a copy of the
 * real corpus and through the real HTTP app.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserInputError } from '../src/core/errors.js';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import { Engine } from '../src/backends/embedded/engine.js';
import type { SearchResult } from '../src/backends/search-contract.js';
import { analyze } from '../src/pipeline/analyze.js';
import { isStopWord, loosen, readsAsQuestion } from '../src/pipeline/best-match.js';
import { parseQuery } from '../src/pipeline/query.js';
import { type TestServer, startServer } from './helpers/server.js';
import { paper } from './helpers/paper.js';

let engine: Engine;
let server: TestServer;
let dir: string;
beforeAll(async () => {
  // A copy of the corpus: tests never read the tracked folder in place.
  dir = mkdtempSync(join(tmpdir(), 'duikou-best-match-'));
  cpSync(fileURLToPath(new URL('../corpus', import.meta.url)), dir, { recursive: true });
  engine = await openCorpus(dir);
  server = await startServer({ engine });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const search = (q: string, opts: Parameters<Engine['search']>[1] = {}): SearchResult => engine.search(q, { limit: 200, ...opts });
const stems = (s: string) => new Set(analyze(s, 'index').map((t) => t.term));
const CLOSEST = 'No passage has every word; showing the closest 最接近的结果';

describe('best match when strict matching is thin', () => {
  it('how are village cadres selected and evaluated: no passage has every word; the closest answer it', () => {
    const r = search('how are village cadres selected and evaluated');
    expect(r.strictTotal).toBe(0);
    expect(r.mode).toBe('best');
    expect(r.notice).toBe(CLOSEST);
    const top5 = r.hits.slice(0, 5).map((h) => h.text);
    // Z City selected nearly 1,000 cadres as first secretaries of villages.
    expect(top5.some((t) => t.includes('selected nearly 1,000 outstanding cadres'))).toBe(true);
    // Every hit holds at least one of the content words; stop words (how, are, and) find nothing.
    for (const h of r.hits) expect(['villag', 'cadr', 'select', 'evalu'].some((w) => stems(h.text).has(w))).toBe(true);
  });

  it('what has counterpart support achieved in poverty reduction: passages on counterpart support and poverty first', () => {
    const r = search('what has counterpart support achieved in poverty reduction');
    expect(r.strictTotal).toBe(0);
    expect(r.mode).toBe('best');
    expect(r.notice).toBe(CLOSEST);
    const top5 = r.hits.slice(0, 5).map((h) => h.text);
    // "… counterpart support has played a key role in winning the battle against poverty …"
    expect(top5.some((t) => t.includes('winning the battle against poverty'))).toBe(true);
    // Passages holding more of the query come first: the first hit holds counterpart, support and poverty.
    expect(['counterpart', 'support', 'poverti'].every((w) => stems(r.hits[0]!.text).has(w))).toBe(true);
  });

  it('ranks passages with every word before those with fewer', () => {
    // In English only: through the glossary, 三峡工程 gives it ten or more passages with "every word".
    const strict = search('Three Gorges', { match: 'strict', expand: false });
    const best = search('Three Gorges', { expand: false });
    expect(strict.total).toBeGreaterThan(0);
    expect(strict.total).toBeLessThan(10);
    expect(best.mode).toBe('best');
    expect(best.notice).toBe(`Only ${strict.total} passages have every word; showing the closest 最接近的结果`);
    expect(new Set(best.hits.slice(0, strict.total).map((h) => h.passageId))).toEqual(new Set(strict.hits.map((h) => h.passageId)));
    expect(best.total).toBeGreaterThan(strict.total);
  });

  it('counts a rare word of the query for more than common ones: the distinctive word outweighs two that every passage holds', () => {
    // Twelve paragraphs on village roads, one on how cadres are evaluated; no passage holds all three words.
    const paras = Array.from({ length: 12 }, (_, i) => `Village road number ${i + 1} was paved with county funds.`);
    const text = [...paras, 'The county evaluated its officials every year.', 'Nothing here.'].join('\n\n');
    const e = new Engine();
    e.addDocument(paper('d', text, 'en'));
    const r = e.search('village road evaluated', { limit: 20 });
    expect(r.mode).toBe('best');
    expect(r.total).toBe(13);
    const first = r.hits[0]!;
    const p = e.passage(first.passageId)!;
    expect(text.slice(p.start, p.end)).toBe('The county evaluated its officials every year.');
  });

  it('a question is answered by best match even when many passages hold every word', () => {
    for (const q of [
      'counterpart support?',
      'how are cadres assessed',
      '对口支援有哪些类型',
      'revitalizing old industrial bases in the Northeast',
    ]) {
      expect(readsAsQuestion(parseQuery(q)), q).toBe(true);
    }
    for (const q of ['counterpart support', 'assistance to Tibet', '对口支援 西藏', '"how are cadres assessed"']) {
      expect(readsAsQuestion(parseQuery(q)), q).toBe(false);
    }
    const r = search('counterpart support?');
    expect(r.strictTotal).toBeGreaterThanOrEqual(10);
    expect(r.mode).toBe('best');
    expect(r.notice).toBe('Ranked by how much of the query each passage holds; showing the closest 最接近的结果');
  });

  it('stays strict with 10 or more hits, or with one plain word', () => {
    expect(search('counterpart support').mode).toBe('strict');
    expect(search('对口支援').mode).toBe('strict');
    const kunshan = search('Kunshan');
    expect([kunshan.mode, kunshan.total, kunshan.notice]).toEqual(['strict', 1, undefined]);
    expect(loosen(parseQuery('Kunshan'))).toBeNull();
  });

  it('removes stop words of both languages from a maintained list', () => {
    for (const w of ['the', 'and', 'How', '的', '了', '哪些']) expect(isStopWord(w), w).toBe(true);
    for (const w of ['support', 'cadres', '对口支援', '西藏']) expect(isStopWord(w), w).toBe(false);
  });

  it('a Chinese question typed without spaces is matched word by word', () => {
    const r = search('对口支援取得了哪些成就');
    expect(r.strictTotal).toBe(0);
    expect(r.mode).toBe('best');
    // The first hits hold both 对口支援 and 成就.
    expect(r.hits[0]!.text).toContain('对口支援');
    expect(r.hits[0]!.text).toContain('成就');
  });
});

describe('question words and translations worded differently', () => {
  const hitWith = (r: SearchResult, needle: string) => r.hits.find((h) => h.text.includes(needle));

  it('a stop word among other words is not required: assistance to Tibet finds "assistance toward Tibet"', () => {
    const needle = 'Table 1 the evolution of intergovernmental network of partner assistance toward Tibet';
    expect(hitWith(search('assistance to Tibet'), needle)).toBeDefined();
    // The benchmark's strict mode keeps every word, as its baselines do.
    expect(hitWith(search('assistance to Tibet', { match: 'strict' }), needle)).toBeUndefined();
    // …and a passage with the words as typed still ranks first.
    expect(search('assistance to Tibet').hits[0]!.text).toMatch(/assistance to(ward)? Tibet/i);
  });

  it('援藏 reaches an English passage that says the translation in other words ("aided … Tibet"), below the exact translations', () => {
    const r = search('援藏');
    const aided = r.hits.findIndex((h) => h.text.includes('It has aided Nyingchi'));
    expect(aided).toBeGreaterThan(0);
    expect(r.hits[aided]!.matches.some((m) => m.via !== undefined)).toBe(true);
    const exact = r.hits.findIndex((h) => /assistance toward Tibet/.test(h.text));
    expect(exact).toBeGreaterThanOrEqual(0);
    expect(exact).toBeLessThan(aided);
    // Strict mode (the benchmark's) matches translations as phrases only.
    expect(search('援藏', { match: 'strict' }).hits.some((h) => h.text.includes('It has aided Nyingchi'))).toBe(false);
  });

  it('a translation worded apart counts beside the same translation as a phrase: "Wenchuan great earthquake" and "Wenchuan earthquake"', () => {
    const r = search('汶川地震');
    const at = (needle: string) => r.hits.findIndex((h) => h.text.includes(needle));
    // The fourth phase holds the phrase once and "Wenchuan great earthquake" once; the providers' competition
    // holds the phrase once and nothing more, in a shorter paragraph. Counting the words apart only where the
    // phrase stands nowhere ranked the fourth phase below it.
    const both = at('The fourth phase (2008-present), after 5.12 Wenchuan great earthquake');
    const once = at('Secondly, there are more competitions than cooperation among assistance providers');
    expect(both).toBeGreaterThanOrEqual(0);
    expect(once).toBeGreaterThanOrEqual(0);
    expect(both).toBeLessThan(once);
    // Strict mode (the benchmark's) matches translations as phrases only, so the count is the phrase's.
    const strict = search('汶川地震', { match: 'strict' });
    expect(strict.hits.some((h) => h.text.includes('The fourth phase (2008-present)'))).toBe(true);
  });

  it('a question holding a multi-word glossary entry reaches its translation in best match', () => {
    const r = search('what happened to the aid to Tibet');
    expect(r.mode).toBe('best');
    expect(r.hits.some((h) => h.lang === 'zh' && h.matches.some((m) => m.via === '援藏'))).toBe(true);
  });
});

describe('a verb in a question reaches its nominalisations', () => {
  it('compete finds the passages on competition and competitive bidding, below those with the words as typed', () => {
    const q = 'why do provinces compete instead of cooperating when giving aid';
    const r = search(q);
    expect(r.mode).toBe('best');
    // This passage says "competition tournament", never "compete".
    const needle = 'Counterpart support has a dual dynamic mechanism';
    const hit = r.hits.find((h) => h.text.includes(needle));
    expect(hit).toBeDefined();
    expect(hit!.text).not.toMatch(/\bcompete\b/i);
    expect(hit!.matches.some((m) => /^competition$/i.test(hit!.text.slice(m.start - hit!.start, m.end - hit!.start)))).toBe(true);
    // A plain search stays what the stem oracle says: compete is not competition.
    expect(search('compete', { match: 'strict' }).hits.some((h) => h.text.includes(needle))).toBe(false);
  });
});

describe('a term inside glossary entries', () => {
  it('Three Gorges reaches the Chinese passages on 三峡工程 through "Three Gorges Project"', () => {
    const r = search('Three Gorges');
    const zh = r.hits.filter((h) => h.lang === 'zh' && h.text.includes('三峡工程'));
    expect(zh.length).toBeGreaterThan(0);
    expect(zh.every((h) => h.matches.some((m) => m.via === '三峡工程'))).toBe(true);
    expect(search('Three Gorges', { expand: false }).hits.some((h) => h.lang === 'zh')).toBe(false);
  });
});

describe('quotes, -, OR, lang:, doc: keep their strict meaning in best match', () => {
  const Q = 'how are village cadres selected and evaluated';

  it('a quoted phrase must still stand in every hit', () => {
    const r = search(`"village-resident cadres" selected evaluated appointed`, { expand: false });
    expect(r.mode).toBe('best');
    expect(r.total).toBeGreaterThan(0);
    for (const h of r.hits) expect(h.text.toLowerCase()).toMatch(/village-resident cadres?/);
    // A quoted question is one phrase, found nowhere: strict, and no closest results.
    const quoted = search(`"${Q}"`);
    expect([quoted.mode, quoted.total]).toEqual(['strict', 0]);
  });

  it('an excluded word excludes in best match too', () => {
    const r = search(`${Q} -rural`);
    expect(r.mode).toBe('best');
    expect(r.total).toBeGreaterThan(0);
    for (const h of r.hits) expect(stems(h.text).has('rural')).toBe(false);
  });

  it('an OR group must still match', () => {
    const r = search('援藏 OR 援疆 achievements cadres', { expand: false });
    expect(r.mode).toBe('best');
    expect(r.total).toBeGreaterThan(0);
    for (const h of r.hits) expect(h.text.includes('援藏') || h.text.includes('援疆')).toBe(true);
  });

  it('lang: and doc: still filter', () => {
    const zh = search(`lang:zh ${Q}`);
    for (const h of zh.hits) expect(h.lang).toBe('zh');
    const doc = search(`doc:zheng-wu-task-oriented-network ${Q}`);
    expect(doc.mode).toBe('best');
    expect(doc.total).toBeGreaterThan(0);
    for (const h of doc.hits) expect(h.docId).toBe('zheng-wu-task-oriented-network');
  });

  it('match: strict turns best match off (what the benchmark compares with FTS5)', () => {
    const r = search(Q, { match: 'strict' });
    expect([r.mode, r.total, r.notice]).toEqual(['strict', 0, undefined]);
  });
});

describe('kind: filters passages by kind', () => {
  /** Every hit of a query, page by page. */
  const every = (q: string) => {
    const out: SearchResult['hits'] = [];
    for (let offset = 0; ; offset += 200) {
      const r = engine.search(q, { limit: 200, offset });
      out.push(...r.hits);
      if (offset + 200 >= r.total) return out;
    }
  };
  it.each(['paragraph', 'reference', 'heading', 'footnote', 'table', 'list-item'])('对口支援 kind:%s', (kind) => {
    const all = every('对口支援');
    const only = every(`对口支援 kind:${kind}`);
    expect(only.length).toBeGreaterThan(0);
    expect(only.every((h) => h.kind === kind)).toBe(true);
    expect(only.map((h) => h.passageId).sort()).toEqual(
      all
        .filter((h) => h.kind === kind)
        .map((h) => h.passageId)
        .sort(),
    );
  });

  it('several kind: mean any of them, and kind: alone lists passages of that kind', () => {
    const r = search('kind:reference kind:footnote 对口支援');
    expect(new Set(r.hits.map((h) => h.kind))).toEqual(new Set(['reference', 'footnote']));
    const titles = search('kind:title');
    expect(titles.total).toBe(engine.documents().length);
  });

  it('an unknown kind is a user error naming the allowed ones', () => {
    expect(() => search('对口支援 kind:chapter')).toThrow(UserInputError);
    expect(() => search('对口支援 kind:chapter')).toThrow(/paragraph, list-item/);
  });
});

describe('results grouped by paper', () => {
  it('gives each paper its best hits and how many more it has', () => {
    const flat = search('partner assistance');
    const r = engine.search('partner assistance', { group: 'paper', limit: 20 });
    expect(r.groups).toBeDefined();
    const groups = r.groups!;
    expect(groups.map((g) => g.docId).sort()).toEqual(Object.keys(flat.perDocument).sort());
    // Papers in the order of their best hit.
    const firstSeen = [...new Set(flat.hits.map((h) => h.docId))];
    expect(groups.map((g) => g.docId)).toEqual(firstSeen);
    for (const g of groups) {
      const own = flat.hits.filter((h) => h.docId === g.docId);
      expect(g.total).toBe(own.length);
      expect(g.hits.map((h) => h.passageId)).toEqual(own.slice(0, 3).map((h) => h.passageId));
      expect(g.more).toBe(Math.max(0, own.length - 3));
    }
    expect(r.hits).toEqual(groups.flatMap((g) => g.hits));
  });

  it('over HTTP: group=paper, perPaper, and mode/notice in the API', async () => {
    const res = await fetch(`${server.url}/api/search?q=${encodeURIComponent('partner assistance')}&group=paper&perPaper=1`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.mode).toBe('strict');
    expect(body.groups.length).toBeGreaterThan(1);
    for (const g of body.groups) {
      expect(g.hits).toHaveLength(1);
      expect(g.more).toBe(g.total - 1);
    }
    const q = await (
      await fetch(`${server.url}/api/search?q=${encodeURIComponent('how are village cadres selected and evaluated')}`)
    ).json();
    expect([q.mode, q.strictTotal, q.notice]).toEqual(['best', 0, CLOSEST]);
    const strict = await (
      await fetch(`${server.url}/api/search?q=${encodeURIComponent('how are village cadres selected and evaluated')}&match=strict`)
    ).json();
    expect([strict.mode, strict.total, strict.notice]).toEqual(['strict', 0, undefined]);
    const bad = await fetch(`${server.url}/api/search?q=x&group=author`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('bad_parameter');
  });

  it('the search page says "N more in this paper" and shows the best-match notice', async () => {
    const grouped = await (await fetch(`${server.url}/search?q=${encodeURIComponent('partner assistance')}&group=paper`)).text();
    const more = grouped.match(/(\d+) more in this paper/);
    expect(more).not.toBeNull();
    expect(grouped).toContain('class="paper-group"');
    const page = await (
      await fetch(`${server.url}/search?q=${encodeURIComponent('how are village cadres selected and evaluated')}`)
    ).text();
    // The page says it in the interface language only (English without Accept-Language).
    expect(page).toContain('No passage has every word; showing the closest</p>');
    const zh = await (
      await fetch(`${server.url}/search?q=${encodeURIComponent('how are village cadres selected and evaluated')}`, {
        headers: { 'accept-language': 'zh-CN' },
      })
    ).text();
    expect(zh).toContain('没有段落包含全部检索词；显示最接近的结果</p>');
  });

  it('the search page says which hits are there by their section heading', async () => {
    const page = await (await fetch(`${server.url}/search?q=${encodeURIComponent('path dependence')}&limit=20`)).text();
    const hits = page.split('<li class="hit">').slice(1);
    const bySection = hits.filter((h) => h.includes('class="badge by-section"'));
    // The two paragraphs of "3.2.1. Path Dependency" that hold neither word (a third holds one, marked).
    expect(bySection).toHaveLength(2);
    for (const h of bySection) expect(h).toContain('§ 3.2.1. Path Dependency');
    expect(bySection.some((h) => h.includes('affected by coordination effects'))).toBe(true);
    // A hit holding the words is marked, and has no such badge.
    const first = hits[0]!;
    expect(first).toContain('<mark');
    expect(first).not.toContain('by-section');
    // Not in strict results, whose hits always hold every word.
    const strict = await (await fetch(`${server.url}/search?q=${encodeURIComponent('kind:heading')}`)).text();
    expect(strict).not.toContain('by-section');
  });
});
