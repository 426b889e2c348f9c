/**
 * The concordance, collocates and dispersion over HTTP: every occurrence in
 * the corpus (an oracle scan of the passages' texts counts the same), sorting
 * by left and right context (pinyin for Chinese, case-folded alphabetical for
 * English), paging, CSV, and the collocation measures.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { en, zh } from '../src/http/messages.js';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import { EmbeddedSearchBackend } from '../src/backends/embedded/search.js';
import { analysisParams, concordanceLines } from '../src/http/analysis.js';
import { Engine } from '../src/backends/embedded/engine.js';
import { logLikelihood } from '../src/pipeline/collocates.js';
import { compareWords, sequenceSortKey } from '../src/pipeline/concordance.js';
import { joinPieces } from '../src/pipeline/segment.js';
import { type TestServer, startServer } from './helpers/server.js';
import { paper } from './helpers/paper.js';

const dirs: string[] = [];
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function serve(dir: string): Promise<{
  engine: Engine;
  get: (path: string, headers?: Record<string, string>) => Promise<{ status: number; body: any; res: Response }>;
}> {
  const engine = await openCorpus(dir);
  const server = await startServer({ engine });
  servers.push(server);
  return {
    engine,
    get: async (path, headers) => {
      const res = await fetch(server.url + path, { headers });
      const type = res.headers.get('content-type') ?? '';
      // Bytes decoded by hand, so a byte-order mark is kept, not swallowed.
      const body = type.includes('json') ? await res.json() : new TextDecoder('utf-8', { ignoreBOM: true }).decode(await res.arrayBuffer());
      return { status: res.status, body, res };
    },
  };
}

const Q_ZH = '对口支援';
const qs = (p: Record<string, string | number>) => new URLSearchParams(Object.entries(p).map(([k, v]) => [k, String(v)])).toString();

describe('the concordance of the real corpus', () => {
  let engine: Engine;
  let get: Awaited<ReturnType<typeof serve>>['get'];
  beforeAll(async () => {
    // A copy: tests never read the tracked corpus folder in place.
    const dir = mkdtempSync(join(tmpdir(), 'duikou-conc-'));
    dirs.push(dir);
    cpSync(fileURLToPath(new URL('../corpus', import.meta.url)), dir, { recursive: true });
    ({ engine, get } = await serve(dir));
  }, 120_000);

  /** Occurrences of `re` in every passage's own text (its pieces joined), over the whole corpus. */
  function scan(re: RegExp): number {
    let n = 0;
    for (const d of engine.documents()) for (const p of d.passages) n += [...joinPieces(d.text, p.pieces).text.matchAll(re)].length;
    return n;
  }

  /** Every line of a concordance, page by page. */
  async function allLines(params: Record<string, string | number>): Promise<any[]> {
    const out: any[] = [];
    for (let offset = 0; ; offset += 1000) {
      const { status, body } = await get(`/api/concordance?${qs({ ...params, limit: 1000, offset })}`);
      expect(status).toBe(200);
      out.push(...body.lines);
      if (out.length >= body.total) return out;
    }
  }

  // A Chinese run is matched like grep, also where jieba cuts across it (的对|口支援, 份对|口支援).
  it('counts every occurrence of 对口支援 that a scan of the passages finds', async () => {
    const { body } = await get(`/api/concordance?${qs({ q: '对口支援', expand: 0, limit: 1 })}`);
    expect(body.total).toBe(scan(/对口支援/g));
  });

  it('counts every occurrence of an English word that a scan of the passages finds, in every form', async () => {
    const lines = await allLines({ q: 'counterpart', expand: 0 });
    // the analyzer folds case and stems the plural; a possessive is the word too
    const want = scan(/(?<![\p{L}\p{N}])counterparts?(?![\p{L}\p{N}])/giu);
    expect(want).toBeGreaterThan(100);
    expect(lines).toHaveLength(want);
    for (const l of lines) {
      const text = engine.requireDocument(l.docId).text;
      expect(text.slice(l.start, l.end).toLowerCase()).toMatch(/^counterparts?$/);
    }
  });

  it('gives every line exact offsets, its context, its paper as author–year and a link to it in the reader', async () => {
    const lines = await allLines({ q: '对口支援', expand: 0, sort: 'right' });
    expect(lines.length).toBeGreaterThan(300);
    const seen = new Set<string>();
    for (const l of lines) {
      const text = engine.requireDocument(l.docId).text;
      expect(text.slice(l.start, l.end)).toBe('对口支援');
      expect(l.keyword).toBe('对口支援');
      expect(text.slice(l.leftStart, l.start).replace(/\s+/g, ' ').trimStart()).toBe(l.left);
      expect(text.slice(l.end, l.rightEnd).replace(/\s+/g, ' ').trimEnd()).toBe(l.right);
      expect(l.url).toBe(`/documents/${l.docId}?q=${encodeURIComponent('对口支援')}&expand=0#m-${l.n}`);
      seen.add(`${l.docId}:${l.start}`);
    }
    expect(seen.size).toBe(lines.length);
    const zh = lines.find((l) => l.docId === 'wang-duikou-zhiyuan-mechanism');
    expect(zh.paper).toBe('王禹澔（2022）');
    // the reader numbers the same matches: line n is the n-th match on the paper's page
    const byDoc = lines.filter((l) => l.docId === 'wang-duikou-zhiyuan-mechanism').sort((a, b) => a.start - b.start);
    byDoc.forEach((l, i) => expect(l.n).toBe(i + 1));
  });

  it('pages without losing or repeating a line, in every sort order', async () => {
    for (const sort of ['doc', 'left', 'right', 'position']) {
      const whole = await allLines({ q: 'counterpart', expand: 0, sort });
      const paged: any[] = [];
      for (let offset = 0; offset < whole.length; offset += 37) {
        const { body } = await get(`/api/concordance?${qs({ q: 'counterpart', expand: 0, sort, limit: 37, offset })}`);
        paged.push(...body.lines);
      }
      expect(paged.map((l) => `${l.docId}:${l.start}`)).toEqual(whole.map((l) => `${l.docId}:${l.start}`));
    }
  });

  it('downloads the concordance as CSV with a byte-order mark, one row per occurrence', async () => {
    const { status, body, res } = await get(`/api/concordance?${qs({ q: '对口支援', expand: 0, sort: 'left', format: 'csv' })}`);
    expect(status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="?duikou-concordance-\d{4}-\d\d-\d\d-q/);
    expect(body.charCodeAt(0)).toBe(0xfeff);
    const rows: string[][] = parse(body.slice(1));
    const json = await allLines({ q: '对口支援', expand: 0, sort: 'left' });
    expect(rows[0]).toEqual([
      'paper',
      'document id',
      'title',
      'year',
      'section',
      'start',
      'end',
      'left context',
      'keyword',
      'right context',
      'via',
      'link',
    ]);
    expect(rows.slice(1).map((r) => `${r[1]}:${r[5]}`)).toEqual(json.map((l) => `${l.docId}:${l.start}`));
  });

  it('heads the concordance CSV in the interface language, from the message catalogue', async () => {
    const path = `/api/concordance?${qs({ q: '对口支援', expand: 0, sort: 'right', format: 'csv' })}`;
    const heads = async (headers: Record<string, string>) => {
      const { status, body } = await get(path, headers);
      expect(status).toBe(200);
      return parse(body.slice(1)) as string[][];
    };
    const keys = ['paper', 'docId', 'title', 'year', 'section', 'start', 'end', 'left', 'keyword', 'right', 'via', 'link'] as const;
    const zhRows = await heads({ 'Accept-Language': 'zh-CN,zh;q=0.9' });
    expect(zhRows[0]).toEqual(keys.map((k) => zh[`csv.${k}`]));
    // The switch's cookie wins over the browser's preference, as on every page.
    const enRows = await heads({ 'Accept-Language': 'zh-CN', Cookie: 'duikou_lang=en' });
    expect(enRows[0]).toEqual(keys.map((k) => en[`csv.${k}`]));
    // Only the heading changes: the same rows, cell for cell.
    expect(zhRows.slice(1)).toEqual(enRows.slice(1));
    expect(zhRows.length).toBeGreaterThan(1);
  });

  it('titles the downloaded dispersion plot in the interface language', async () => {
    const title = async (lang: string) => {
      const { body } = await get(`/api/dispersion?${qs({ q: Q_ZH, expand: 0, format: 'svg' })}`, { 'Accept-Language': lang });
      return /<title id="disp-title">([^<]*)<\/title>/.exec(body as string)?.[1];
    };
    expect(await title('zh-CN')).toBe(zh['disp.plotTitle'].replace('{q}', Q_ZH));
    expect(await title('en')).toBe(en['disp.plotTitle'].replace('{q}', Q_ZH));
  });

  it('lists only occurrences of the whole query, never the part of it a best-match search settles for', async () => {
    const q = 'counterpart zyxwvutsrq';
    expect(engine.search(q, { expand: false }).total).toBeGreaterThan(0);
    const { body } = await get(`/api/concordance?${qs({ q, expand: 0 })}`);
    expect(body.total).toBe(0);
  });

  it.each([
    ['a space', ' '],
    ['an ideographic space', '\u3000'],
    ['a no-break space', '\u00a0'],
    ['a byte-order mark', '\ufeff'],
    ['a line separator', '\u2028'],
  ])('shows the empty state, not an error, for a query of only %s', async (_n, q) => {
    for (const path of ['concordance', 'collocates', 'dispersion']) {
      const { status, body } = await get(`/${path}?q=${encodeURIComponent(q)}`);
      expect(status, path).toBe(200);
      expect(body, path).toContain('class="empty"');
    }
  });

  it('refuses bad parameters with a clear 400', async () => {
    for (const bad of ['q=x&sort=middle', 'q=x&width=0', 'q=x&limit=5000', 'q=x&format=xml', 'q=', 'q=lang:xx']) {
      const { status, body } = await get(`/api/concordance?${bad}`);
      expect(status, bad).toBe(400);
      expect(body.error.message).toBeTruthy();
    }
  });

  it('plots every paper with a tick per occurrence and counts per year', async () => {
    const { body } = await get(`/api/dispersion?${qs({ q: 'counterpart', expand: 0 })}`);
    const lines = await allLines({ q: 'counterpart', expand: 0 });
    expect(body.total).toBe(lines.length);
    expect(body.papers).toHaveLength(engine.documents().length);
    for (const p of body.papers) {
      expect(p.offsets).toEqual(
        lines
          .filter((l) => l.docId === p.docId)
          .map((l) => l.start)
          .sort((a: number, b: number) => a - b),
      );
    }
    const dated = engine.documents().filter((d) => d.year !== null);
    expect(body.years.reduce((n: number, y: any) => n + y.papers, 0)).toBe(dated.length);
    const page = await get(`/dispersion?${qs({ q: 'counterpart', expand: 0 })}`);
    // drawn on the server: one tick per occurrence, without style attributes or scripts
    expect((page.body as string).match(/class="plot-tick"/g)).toHaveLength(lines.length);
    expect(page.body).not.toMatch(/\sstyle=/);
    // the same drawing as a file, coloured without the page's stylesheet
    const svg = await get(`/api/dispersion?${qs({ q: 'counterpart', expand: 0, format: 'svg' })}`);
    expect(svg.res.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect((svg.body as string).match(/<rect class="plot-tick"[^>]* fill="#[0-9a-f]{6}"/g)).toHaveLength(lines.length);
  });

  it('lists collocates of a Chinese and an English query, scored by log-likelihood, without stop words', async () => {
    for (const q of ['对口支援', 'counterpart']) {
      const { status, body } = await get(`/api/collocates?${qs({ q, expand: 0 })}`);
      expect(status).toBe(200);
      expect(body.collocates.length).toBeGreaterThan(3);
      for (const c of body.collocates) {
        expect(c.frequency).toBeGreaterThanOrEqual(3);
        expect(c.left + c.right).toBe(c.frequency);
        expect(c.mi).toBeGreaterThan(0);
        expect(['的', 'the', 'of', 'and']).not.toContain(c.word);
      }
      const ll = body.collocates.map((c: any) => c.logLikelihood);
      expect(ll).toEqual([...ll].sort((a: number, b: number) => b - a));
    }
    const en = await get(`/api/collocates?${qs({ q: 'counterpart', expand: 0 })}`);
    expect(en.body.collocates[0].word).toBe('support');
  });
});

describe('sorting by context', () => {
  let get: Awaited<ReturnType<typeof serve>>['get'];
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duikou-sort-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'zh.txt'), '# 样本\n\n重庆对口支援西藏。\n\n长沙对口支援重庆。\n\n北京对口支援安徽。\n\n安徽对口支援北京。\n');
    writeFileSync(join(dir, 'en.txt'), '# Sample\n\nCherry support mango.\n\nbanana support Zebra.\n\nApple support apple.\n');
    writeFileSync(
      join(dir, 'window.txt'),
      '# Window\n\n' +
        Array.from({ length: 4 }, () => 'alpha beta gamma delta epsilon zeta target one two three four five sixword.').join('\n\n'),
    );
    ({ get } = await serve(dir));
  }, 60_000);

  const keywords = async (q: string, sort: string, side: 'left' | 'right') => {
    const { body } = await get(`/api/concordance?${qs({ q, sort, expand: 0 })}`);
    return body.lines.map((l: any) => (side === 'left' ? l.left : l.right).trim());
  };

  it('sorts Chinese lines by the pinyin of the word left or right of the keyword', async () => {
    // 安徽 an, 北京 bei, 长沙 chang (not zhang), 重庆 chong (not zhong), 西藏 xi
    expect(await keywords('对口支援', 'left', 'left')).toEqual(['安徽', '北京', '长沙', '重庆']);
    expect(await keywords('对口支援', 'right', 'right')).toEqual(['安徽。', '北京。', '重庆。', '西藏。']);
  });

  it('sorts English lines alphabetically, ignoring case', async () => {
    expect(await keywords('support', 'left', 'left')).toEqual(['Apple', 'banana', 'Cherry']);
    expect(await keywords('support', 'right', 'right')).toEqual(['apple.', 'mango.', 'Zebra.']);
  });

  it('compares words by pinyin, then by character, with Latin words in the same letter order', () => {
    const words = ['重庆', 'Beijing', '北京', 'apple', '安徽', '长沙', 'Zebra', '西藏'];
    expect([...words].sort(compareWords)).toEqual(['安徽', 'apple', '北京', 'Beijing', '长沙', '重庆', '西藏', 'Zebra']);
  });

  it('sorts word sequences by one key string exactly as word-by-word comparison does', () => {
    const wordByWord = (a: string[], b: string[]): number => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        const c = compareWords(a[i]!, b[i]!);
        if (c !== 0) return c;
      }
      return a.length - b.length;
    };
    const sign = (x: number) => Math.sign(x);
    const word = fc.constantFrom(
      '安徽',
      '北京',
      '长沙',
      '重庆',
      '西藏',
      '对口',
      '对口支援',
      'an',
      'Anhui',
      'apple',
      'Apple',
      'dui',
      'zebra',
      '1979',
      '市场',
      '试场',
    );
    fc.assert(
      fc.property(fc.array(word, { maxLength: 5 }), fc.array(word, { maxLength: 5 }), (a, b) => {
        const ka = sequenceSortKey(a);
        const kb = sequenceSortKey(b);
        expect(sign(ka < kb ? -1 : ka > kb ? 1 : 0)).toBe(sign(wordByWord(a, b)));
      }),
      { numRuns: 2000 },
    );
  });

  it('counts collocates within the window only, and above the minimum frequency', async () => {
    const five = (await get(`/api/collocates?${qs({ q: 'target', min: 4 })}`)).body;
    const words5 = five.collocates.map((c: any) => c.word);
    expect(words5).toEqual(expect.arrayContaining(['beta', 'zeta', 'five']));
    expect(words5).not.toContain('alpha');
    expect(words5).not.toContain('sixword');
    const six = (await get(`/api/collocates?${qs({ q: 'target', min: 4, window: 6 })}`)).body;
    expect(six.collocates.map((c: any) => c.word)).toEqual(expect.arrayContaining(['alpha', 'sixword']));
    const high = (await get(`/api/collocates?${qs({ q: 'target', min: 5 })}`)).body;
    expect(high.collocates).toEqual([]);
  });
});

describe('log-likelihood', () => {
  it('is 0 when the observed count is the expected one, and grows with the surplus', () => {
    expect(logLikelihood(10, 100, 1000, 10_000)).toBeCloseTo(0, 10);
    expect(logLikelihood(20, 100, 1000, 10_000)).toBeGreaterThan(logLikelihood(15, 100, 1000, 10_000));
  });

  it('does not depend on which margin is the window', () => {
    expect(logLikelihood(12, 300, 40, 50_000)).toBeCloseTo(logLikelihood(12, 40, 300, 50_000), 9);
  });

  it('matches a hand-computed 2×2 table', () => {
    // O = [[10, 90], [40, 9860]], N = 10000, margins R = 100, C = 50: E = [[0.5, 99.5], [49.5, 9850.5]]
    const cells: Array<[number, number]> = [
      [10, 0.5],
      [90, 99.5],
      [40, 49.5],
      [9860, 9850.5],
    ];
    const want = 2 * cells.reduce((s, [o, e]) => s + o * Math.log(o / e), 0);
    expect(logLikelihood(10, 100, 50, 10_000)).toBeCloseTo(want, 9);
  });
});

describe('analysis under random input', () => {
  /** Mixed scripts, text outside the BMP, line breaks inside passages. */
  const TEXT =
    '# 混合 Mixed\n\n对口支援 𠀀𠀁 counterpart support 😀 援藏/教育 — Key Nodes (林芝地区) 1979.\n对口支援𠀀对口支援 support 😀support\n\nSupport, counterpart-support and 对口支援 again 𠀀.\n';
  let url = '';
  beforeAll(async () => {
    const engine = new Engine();
    engine.addDocument(paper('mixed', TEXT, 'zh', { hash: 'h', title: 'Mixed 混合' }));
    const server = await startServer({ engine });
    servers.push(server);
    url = server.url;
  });

  const splitsPair = (i: number) => /[\ud800-\udbff]/.test(TEXT[i - 1] ?? '') && /[\udc00-\udfff]/.test(TEXT[i] ?? '');

  it('never answers 5xx, and every line lies in the text without cutting a character in two', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom('对口支援', 'support', '𠀀', '援藏 OR counterpart', '"key node"', 'lang:en support'),
          fc.string({ unit: 'binary', maxLength: 20 }),
        ),
        fc.constantFrom('doc', 'left', 'right', 'position', 'x'),
        fc.integer({ min: -1, max: 210 }),
        fc.integer({ min: 0, max: 22 }),
        async (q, sort, width, window) => {
          const c = await fetch(`${url}/api/concordance?${qs({ q, sort, width, expand: 0 })}`);
          expect(c.status).toBeLessThan(500);
          const body = (await c.json()) as any;
          if (c.status === 200) {
            for (const l of body.lines) {
              expect(
                0 <= l.leftStart && l.leftStart <= l.start && l.start < l.end && l.end <= l.rightEnd && l.rightEnd <= TEXT.length,
              ).toBe(true);
              for (const i of [l.leftStart, l.start, l.end, l.rightEnd]) expect(splitsPair(i)).toBe(false);
              expect(TEXT.slice(l.start, l.end).replace(/\s+/g, ' ')).toBe(l.keyword);
            }
          } else expect(typeof body.error.message).toBe('string');
          for (const path of ['collocates', 'dispersion']) {
            const r = await fetch(`${url}/api/${path}?${qs({ q, window, min: 1 })}`);
            expect(r.status, path).toBeLessThan(500);
          }
          // The pages too, which render what the API answers.
          for (const path of ['concordance', 'collocates', 'dispersion']) {
            const r = await fetch(`${url}/${path}?${qs({ q })}`);
            expect(r.status, `/${path}`).toBeLessThan(500);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('a concordance after the corpus changes', () => {
  it('counts the new text, not a remembered answer', async () => {
    const engine = new Engine();
    const doc = (id: string, text: string) => paper(id, text, 'en');
    engine.addDocument(doc('a', 'Counterpart support, and counterpart support again.'));
    const server = await startServer({ engine });
    servers.push(server);
    const total = async () => ((await (await fetch(`${server.url}/api/concordance?q=counterpart&limit=1`)).json()) as any).total;
    expect(await total()).toBe(2);
    expect(await total()).toBe(2);
    engine.addDocument(doc('b', 'A third counterpart.'));
    expect(await total()).toBe(3);
    engine.removeDocument('a');
    expect(await total()).toBe(1);
  });
});

describe('concordances kept between requests', () => {
  it('sorts a request once while the corpus is unchanged, keeps the 8 most recently used, never one with a tag filter', async () => {
    const engine = new Engine();
    const text = 'Counterpart support 对口支援 𠀀, and counterpart support again 😀.';
    engine.addDocument(paper('k', text, 'en'));
    const c = { engine, search: new EmbeddedSearchBackend(engine) };
    const lines = (q: string, width: number) => concordanceLines(c, analysisParams({ q, width: String(width) }));
    const first = await lines('counterpart', 40);
    expect(first.map((l) => text.slice(l.start, l.end))).toEqual(['Counterpart', 'counterpart']);
    expect(await lines('counterpart', 40)).toBe(first);
    // Seven others fill the eight places; using the first again makes width 1 the least recently used.
    const others = new Map<number, unknown>();
    for (let w = 1; w <= 7; w++) others.set(w, await lines('counterpart', w));
    expect(await lines('counterpart', 40)).toBe(first);
    await lines('counterpart', 8);
    expect(await lines('counterpart', 40)).toBe(first);
    expect(await lines('counterpart', 2)).toBe(others.get(2));
    expect(await lines('counterpart', 1)).not.toBe(others.get(1));
    // A tag: filter depends on annotations, which change without the corpus.
    expect(await lines('counterpart tag:x', 40)).not.toBe(await lines('counterpart tag:x', 40));
    // A change to the corpus is a new generation: computed again.
    engine.addDocument(paper('l', 'A third counterpart.', 'en'));
    expect(await lines('counterpart', 40)).toHaveLength(3);
  });
});
