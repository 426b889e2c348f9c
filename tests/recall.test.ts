/**
 * Recall against oracles on the real corpus: a Chinese run is found like grep
 * over the normalised passage texts, an English word like a stem oracle, and
 * every example of a miss researchers ran into is a test, found by its text.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { stemmer } from 'stemmer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Passage } from '../src/core/types.js';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import { americanSpelling, analyze } from '../src/pipeline/analyze.js';
import { normalizeText } from '../src/pipeline/normalize.js';
import { parseQuery } from '../src/pipeline/query.js';
import { rank } from '../src/pipeline/rank.js';
import { joinPieces } from '../src/pipeline/segment.js';

const CORPUS = fileURLToPath(new URL('../corpus', import.meta.url));
let dir: string;
let engine: Engine;
/** Every passage with its normalised text (pieces joined, as the analyzer reads it). */
let passages: Array<{ p: Passage; norm: string; text: string }>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'duikou-recall-'));
  cpSync(CORPUS, dir, { recursive: true });
  engine = await openCorpus(dir);
  passages = [...engine.passages()].map((p) => {
    const text = joinPieces(engine.requireDocument(p.docId).text, p.pieces).text;
    return { p, text, norm: normalizeText(text) };
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Ids of every passage a query returns, without cross-lingual expansion unless asked. */
const hitIds = (q: string, expand = false): Set<number> =>
  new Set(rank(parseQuery(q), engine, { expand, match: 'strict' }).hits.map((h) => h.passage.id));
/** Ids of the passages whose normalised text holds `s`: grep. */
const grep = (s: string): Set<number> => new Set(passages.filter((x) => x.norm.includes(s)).map((x) => x.p.id));
/** The passage whose text holds `needle` (exactly one). */
const passageWith = (needle: string): Passage => {
  const found = passages.filter((x) => x.text.includes(needle));
  expect(found.length, `passages holding ${needle}`).toBe(1);
  return found[0]!.p;
};
const missing = (want: Set<number>, got: Set<number>): string[] =>
  [...want].filter((id) => !got.has(id)).map((id) => passages.find((x) => x.p.id === id)!.text.slice(0, 60));

/** Runs of Chinese characters in the corpus, to draw substrings from. */
const hanRuns = (): string[] => passages.flatMap((x) => x.norm.match(/\p{Script=Han}+/gu) ?? []).filter((r) => r.length >= 2);

describe('Chinese recall equals grep', () => {
  it('a random run of 2–6 characters from the papers finds every passage holding it, and only those', () => {
    const runs = hanRuns();
    const sub = fc
      .tuple(fc.integer({ min: 0, max: runs.length - 1 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 2, max: 6 }))
      .map(([r, at, len]) => {
        const cs = Array.from(runs[r]!);
        const n = Math.min(len, cs.length);
        const from = at % (cs.length - n + 1);
        return cs.slice(from, from + n).join('');
      });
    fc.assert(
      fc.property(sub, fc.boolean(), (s, quoted) => {
        const want = grep(s);
        const got = hitIds(quoted ? `"${s}"` : s);
        expect(missing(want, got), s).toEqual([]);
        // A contiguous run: no passage without the substring.
        expect([...got].filter((id) => !want.has(id)).length, s).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('a single character finds every passage holding it', () => {
    for (const c of ['援', '县', '疆', '藏', '年']) {
      const want = grep(c);
      expect(want.size, c).toBeGreaterThan(0);
      expect(hitIds(c)).toEqual(want);
    }
  });

  it('marks exactly the characters of the run, wherever it stands', () => {
    for (const q of ['扶贫协作', '中国', '援藏', '县']) {
      const r = engine.search(q, { limit: 200, expand: false, match: 'strict' });
      for (const h of r.hits) {
        const text = engine.requireDocument(h.docId).text;
        expect(h.matches.length).toBeGreaterThan(0);
        for (const m of h.matches) expect(normalizeText(text.slice(m.start, m.end)), q).toBe(q);
      }
    }
  });

  it('keeps contiguity: 对口支援 never matches 对口 … 支援 apart or 对口，支援', () => {
    const got = hitIds('对口支援');
    for (const x of passages) if (!x.norm.includes('对口支援')) expect(got.has(x.p.id)).toBe(false);
  });

  it('ranks a match on word boundaries above a match inside a longer word: 中国 in 发展中国家', () => {
    const hits = engine.search('中国', { limit: 200, expand: false, match: 'strict' }).hits.filter((h) => h.kind === 'paragraph');
    // Paragraphs where jieba never cut 中国 as a word of its own (it stands inside 发展中国家 …).
    const inside = hits.map((h, i) => ({ h, i })).filter(({ h }) => !engine.tokens(h.passageId).some((t) => t.term === '中国'));
    const own = hits.map((h, i) => ({ h, i })).filter(({ h }) => engine.tokens(h.passageId).some((t) => t.term === '中国'));
    expect(inside.some(({ h }) => h.text.includes('发展中国家'))).toBe(true);
    expect(own.length).toBeGreaterThan(10);
    // Each one ranks below most paragraphs that hold 中国 as a word.
    const median = own[Math.floor(own.length / 2)]!.i;
    for (const { h, i } of inside) expect(i, h.text.slice(0, 30)).toBeGreaterThan(median);
  });
});

describe('the examples researchers ran into', () => {
  it.each([
    ['大别山', '1986年国家科委定点支援大别山贫困县'],
    ['国家科委', '1986年国家科委定点支援大别山贫困县'],
    ['GDP', 'GDP'],
  ])('%s finds the passage holding %s', (q, needle) => {
    const p = passageWith(needle);
    expect(hitIds(q).has(p.id)).toBe(true);
  });

  it('1979 finds "1979年7月…" and 2008 finds "2008年汶川地震后…"', () => {
    for (const [q, needle] of [
      ['1979', '1979年7月'],
      ['2008', '2008年汶川地震后'],
    ] as const) {
      const ids = hitIds(q);
      const holding = passages.filter((x) => x.text.includes(needle));
      expect(holding.length, needle).toBeGreaterThan(0);
      for (const x of holding) expect(ids.has(x.p.id), needle).toBe(true);
    }
  });

  it('an excluded word inside such a chunk is excluded: 支援 -大别山', () => {
    const p = passageWith('1986年国家科委定点支援大别山贫困县');
    expect(hitIds('支援').has(p.id)).toBe(true);
    expect(hitIds('支援 -大别山').has(p.id)).toBe(false);
    expect(hitIds('支援 -国家科委').has(p.id)).toBe(false);
  });

  it.each(['扶贫协作', '脱贫攻坚', '新冠', '东西部扶贫协作'])('%s finds every passage holding it (grep count)', (q) => {
    const want = grep(q);
    expect(want.size).toBeGreaterThan(0);
    expect(hitIds(q)).toEqual(want);
  });

  it('扶贫协作 marks all its 27 occurrences, 22 of them inside 东西部扶贫协作', () => {
    const r = engine.search('扶贫协作', { limit: 200, expand: false, match: 'strict' });
    const marks = r.hits.flatMap((h) => h.matches.map((m) => engine.requireDocument(h.docId).text.slice(m.start, m.end)));
    const inCorpus = passages.reduce((n, x) => n + x.norm.split('扶贫协作').length - 1, 0);
    expect(marks.filter((m) => m === '扶贫协作').length).toBe(inCorpus);
  });

  it('poverty alleviation collaboration, unquoted, reaches 扶贫协作 through the glossary', () => {
    const r = engine.search('poverty alleviation collaboration', { limit: 200, match: 'strict' });
    const zh = r.hits.filter((h) => h.text.includes('扶贫协作'));
    expect(zh.length).toBe(grep('扶贫协作').size);
    expect(zh.every((h) => h.matches.some((m) => m.via === '扶贫协作'))).toBe(true);
    // Without expansion it finds only the English passages holding all three words.
    expect(hitIds('poverty alleviation collaboration').size).toBeLessThan(r.total);
  });
});

describe('runs jieba cut apart or into a longer word, in a corpus made for them', () => {
  let small: string;
  let e: Engine;
  const GROWTH = 'GDP增长率在2010年之后放缓。';
  const APART = 'The GDP 增长 figures differ.';
  const CUT = 'Note 制收山在度 here.';
  beforeAll(async () => {
    small = mkdtempSync(join(tmpdir(), 'duikou-recall-small-'));
    writeFileSync(join(small, 'growth.txt'), `Growth\n\n${GROWTH}\n\n${APART}\n\n${CUT}\n\nGDP and 增长 apart, and gdp增 alone.\n`);
    e = await openCorpus(small);
  });
  afterAll(() => rmSync(small, { recursive: true, force: true }));
  const found = (q: string): string[] => e.search(q, { limit: 50, expand: false, match: 'strict' }).hits.map((h) => h.text.trim());

  it('GDP增长 finds GDP增长率, where jieba made 增长率 one word, and marks exactly GDP增长', () => {
    // The precondition that makes this a test: the text holds no word 增长.
    expect(analyze(GROWTH).map((t) => t.term)).toContain('增长率');
    expect(analyze(GROWTH).map((t) => t.term)).not.toContain('增长');
    for (const q of ['GDP增长', 'gdp增长', 'ＧＤＰ增长']) {
      const r = e.search(q, { limit: 50, expand: false, match: 'strict' });
      const hit = r.hits.find((h) => h.text.includes(GROWTH));
      expect(hit, q).toBeDefined();
      const text = e.requireDocument(hit!.docId).text;
      expect(hit!.matches.map((m) => text.slice(m.start, m.end))).toEqual(['GDP增长']);
    }
  });

  it('GDP增长 still finds GDP 增长 written apart, and never GDP and 增长 standing apart in a sentence', () => {
    expect(found('GDP增长')).toContain(APART);
    expect(found('GDP增长').some((t) => t.startsWith('GDP and'))).toBe(false);
  });

  it('收山在 finds the passage jieba cut 制收 / 山在度, holding it verbatim', () => {
    expect(analyze(CUT).map((t) => t.term)).toEqual(['note', '制收', '山在度', 'here']);
    expect(found('收山在')).toEqual([CUT]);
  });
});

describe('multi-word glossary entries typed without quotes', () => {
  it.each([
    ['Xi Jinping', '习近平'],
    ['regional development', '区域发展'],
    ['Communist Party of China', '中国共产党'],
  ])('%s reaches every passage holding %s', (q, zh) => {
    const r = rank(parseQuery(q), engine, { match: 'strict' });
    const want = grep(zh);
    expect(want.size).toBeGreaterThan(0);
    const got = new Set(r.hits.map((h) => h.passage.id));
    expect(missing(want, got)).toEqual([]);
    // …and says through which term.
    const h = r.hits.find((x) => want.has(x.passage.id) && x.passage.lang === 'zh')!;
    expect(r.matches(h.passage).some((m) => m.via === zh)).toBe(true);
  });

  it('keeps the words of such an entry ANDed in English: regional development still finds both words apart', () => {
    const apart = passages.find(
      (x) => /\bregional\b/i.test(x.text) && /\bdevelopment\b/i.test(x.text) && !/regional development/i.test(x.text),
    );
    expect(apart).toBeDefined();
    expect(hitIds('regional development', true).has(apart!.p.id)).toBe(true);
  });
});

describe('English recall equals a stem oracle', () => {
  /** Plain words (letters only, not touching digits or apostrophes) of a passage, lower-cased. */
  const words = (text: string): string[] =>
    (text.match(/(?<![\p{L}\p{N}'’])[A-Za-z]+(?![\p{L}\p{N}'’])/gu) ?? []).map((w) => w.toLowerCase());
  /** The oracle's stem: Porter's, of the word's American spelling, as the analyzer does (see americanSpelling). */
  const stem = (w: string): string => stemmer(americanSpelling(w));
  let byStem: Map<string, Set<number>>;
  let vocabulary: string[];

  beforeAll(() => {
    byStem = new Map();
    const seen = new Set<string>();
    for (const x of passages) {
      for (const w of words(x.norm)) {
        seen.add(w);
        const s = stem(w);
        let set = byStem.get(s);
        if (!set) byStem.set(s, (set = new Set()));
        set.add(x.p.id);
      }
    }
    vocabulary = [...seen].sort();
  });

  it('a random word from the papers finds every passage holding a word of the same stem', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.boolean(), (k, upper) => {
        const w = vocabulary[k % vocabulary.length]!;
        const q = upper ? w.toUpperCase() : w;
        if (q === 'OR') return; // the OR operator
        const want = byStem.get(stem(w))!;
        expect(missing(want, hitIds(q)), q).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  it('finds a hyphenated compound by its parts, and by the whole with or without the hyphen', () => {
    const p = passageWith('counterpart-support');
    for (const q of ['counterpart-support', 'counterpartsupport', '"counterpart support"', 'counterpart support', 'Counterpart‐Support']) {
      expect(hitIds(q).has(p.id), q).toBe(true);
    }
    const s = passageWith('self-sustainability');
    for (const q of ['self-sustainability', 'selfsustainability', '"self sustainability"', 'sustainability']) {
      expect(hitIds(q).has(s.id), q).toBe(true);
    }
  });

  it('finds a word in either spelling: Revitalisation by revitalization, organisations by organization, and back', () => {
    // Both spellings stand in the papers; each is searched by the other, in the singular and plural.
    const pairs: Array<[british: string, american: string]> = [
      ['Revitalisation', 'revitalization'],
      ['organisations', 'organizations'],
      ['emphasised', 'emphasized'],
    ];
    for (const [gb, us] of pairs) {
      const gbPassages = passages.filter((x) => new RegExp(`\\b${gb}\\b`).test(x.text));
      const usPassages = passages.filter((x) => new RegExp(`\\b${us}\\b`, 'i').test(x.text));
      expect(gbPassages.length, gb).toBeGreaterThan(0);
      expect(usPassages.length, us).toBeGreaterThan(0);
      expect(missing(new Set(gbPassages.map((x) => x.p.id)), hitIds(us)), us).toEqual([]);
      expect(missing(new Set(usPassages.map((x) => x.p.id)), hitIds(gb)), gb).toEqual([]);
    }
    // Only words the spelling list knows are respelled: "premise" and "enterprise" keep their s.
    expect(americanSpelling('premise')).toBe('premise');
    expect(americanSpelling('enterprises')).toBe('enterprises');
  });
});
