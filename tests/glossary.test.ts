import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodejieba from 'nodejieba';
import { beforeAll, describe, expect, it } from 'vitest';
import { UserInputError } from '../src/core/errors.js';
import { GLOSSARY_FILE, loadGlossary, normalizeGlossaryTerm, parseGlossary } from '../src/pipeline/glossary.js';
import { SAMPLE } from './helpers/sample.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CORPUS = SAMPLE;
const USERDICT = join(ROOT, 'resources', 'userdict.txt');
const CHINESE_PAPER = 'wang-duikou-zhiyuan-mechanism';

/** Corpus texts by document id (the glossary itself and other duikou.* files left out). */
const corpusTexts = new Map<string, string>(
  readdirSync(CORPUS)
    .filter((f) => f.endsWith('.txt') && !f.startsWith('duikou.'))
    .map((f) => [f.replace(/\.txt$/, ''), readFileSync(join(CORPUS, f), 'utf8')]),
);
const allText = [...corpusTexts.values()].join('\n');
const allTextNormalized = normalizeGlossaryTerm(allText);
const chinesePaper = corpusTexts.get(CHINESE_PAPER) ?? '';

function expectUserInputError(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(UserInputError);
  expect((caught as UserInputError).code).toBe('bad_glossary');
  expect((caught as UserInputError).message).toMatch(pattern);
}

describe('parseGlossary', () => {
  const good = [
    '\uFEFF# a comment',
    '',
    'zh\ten\tsource',
    '对口支援\tcounterpart support\twang-counterpart-support-policy',
    '  # an indented comment',
    '对口支援\tPartner Assistance\tzhou-partner-assistance-overview',
    '汶川地震\tWenchuan earthquake\tcurated\r',
    '驻村干部\tvillage-resident cadres\tli-zhong-personalized-pairing',
    '',
  ].join('\n');

  it('reads entries, skipping comments, blank lines, BOM and CR', () => {
    const g = parseGlossary(good, 'g.tsv');
    expect(g.entries).toEqual([
      { zh: '对口支援', en: 'counterpart support', source: 'wang-counterpart-support-policy' },
      { zh: '对口支援', en: 'Partner Assistance', source: 'zhou-partner-assistance-overview' },
      { zh: '汶川地震', en: 'Wenchuan earthquake', source: 'curated' },
      { zh: '驻村干部', en: 'village-resident cadres', source: 'li-zhong-personalized-pairing' },
    ]);
  });

  it('accepts a file of only comments as an empty glossary', () => {
    expect(parseGlossary('# nothing yet\n\n', 'g.tsv').entries).toEqual([]);
  });

  it('rejects a line with the wrong number of columns, naming file and line', () => {
    const tsv = 'zh\ten\tsource\n# c\n对口支援\tcounterpart support\n';
    expectUserInputError(() => parseGlossary(tsv, 'duikou.glossary.tsv'), /duikou\.glossary\.tsv, line 3\b.*3 tab-separated columns/);
  });

  it('rejects a missing header', () => {
    expectUserInputError(() => parseGlossary('对口支援\tcounterpart support\tcurated\n', 'g.tsv'), /g\.tsv, line 1\b.*header/);
  });

  it('rejects empty columns, swapped languages and repeated pairs', () => {
    expectUserInputError(() => parseGlossary('zh\ten\tsource\n对口支援\t\tcurated\n', 'g.tsv'), /line 2\b.*empty/);
    expectUserInputError(
      () => parseGlossary('zh\ten\tsource\n\ncounterpart support\t对口支援\tcurated\n', 'g.tsv'),
      /line 3\b.*no Chinese/,
    );
    expectUserInputError(
      () => parseGlossary('zh\ten\tsource\n对口支援\tcounterpart support\tcurated\n对口支援\tCounterpart  Support\tx\n', 'g.tsv'),
      /line 3\b.*repeats line 2/,
    );
  });

  it('looks terms up from both sides, case-insensitively and after NFKC', () => {
    const g = parseGlossary(good, 'g.tsv');
    expect(g.expansionsOf('对口支援').map((e) => e.en)).toEqual(['counterpart support', 'Partner Assistance']);
    expect(g.expansionsOf('partner assistance').map((e) => e.zh)).toEqual(['对口支援']);
    expect(g.expansionsOf('COUNTERPART Support').map((e) => e.zh)).toEqual(['对口支援']);
    expect(g.expansionsOf('ｗｅｎｃｈｕａｎ　Earthquake').map((e) => e.zh)).toEqual(['汶川地震']); // full-width
    expect(g.expansionsOf('  village resident   cadres ').map((e) => e.zh)).toEqual(['驻村干部']);
    expect(g.expansionsOf('support')).toEqual([]);
    expect(g.expansionsOf('')).toEqual([]);
  });

  it('looks a term up in either spelling, British or American', () => {
    const g = parseGlossary('zh\ten\tsource\n乡村振兴\trural revitalization\tcurated\n社会组织\tsocial organisations\tcurated\n', 'g.tsv');
    expect(g.expansionsOf('Rural Revitalisation').map((e) => e.zh)).toEqual(['乡村振兴']);
    expect(g.expansionsOf('social organizations').map((e) => e.zh)).toEqual(['社会组织']);
    expect(g.translationsOf('rural revitalisation').map((t) => t.term)).toEqual(['乡村振兴']);
    // The entry itself keeps the spelling it was written in.
    expect(g.expansionsOf('乡村振兴').map((e) => e.en)).toEqual(['rural revitalization']);
  });

  it('translates to the other language only', () => {
    const g = parseGlossary(good, 'g.tsv');
    expect(g.translationsOf('对口支援').map((t) => [t.term, t.lang])).toEqual([
      ['counterpart support', 'en'],
      ['Partner Assistance', 'en'],
    ]);
    // an English synonym gives the Chinese term, not the other English synonyms
    const fromEn = g.translationsOf('Counterpart support');
    expect(fromEn.map((t) => [t.term, t.lang])).toEqual([['对口支援', 'zh']]);
    expect(fromEn[0]?.entry.en).toBe('counterpart support');
  });

  it('translates a term with no entry of its own through the few entries that contain it, marked narrower', () => {
    const g = parseGlossary(
      'zh\ten\tsource\n三峡工程\tThree Gorges Project\tcurated\n三峡库区\tThree Gorges Reservoir Area\tcurated\n' +
        '对口支援\tcounterpart support\tcurated\n对口援藏\tcounterpart aid to Tibet\tcurated\n对口援疆\tcounterpart aid to Xinjiang\tcurated\n' +
        '对口合作\tcounterpart cooperation\tcurated\n对口帮扶\tcounterpart assistance\tcurated\n对口协作\tcounterpart collaboration\tcurated\n',
      'g.tsv',
    );
    const gorges = g.translationsOf('three gorges');
    expect(gorges.map((t) => [t.term, t.narrower])).toEqual([
      ['三峡工程', true],
      ['三峡库区', true],
    ]);
    expect(g.translationsOf('三峡').map((t) => t.term)).toEqual(['Three Gorges Project', 'Three Gorges Reservoir Area']);
    // Whole words only, two or more of them (or two or more characters).
    expect(g.translationsOf('Three Gorge')).toEqual([]);
    expect(g.translationsOf('Gorges')).toEqual([]);
    expect(g.translationsOf('峡')).toEqual([]);
    // A term in more than four entries is too general to stand for them.
    expect(g.translationsOf('对口')).toEqual([]);
    // A term with an entry of its own translates through that entry only.
    expect(g.translationsOf('counterpart support').map((t) => [t.term, t.narrower])).toEqual([['对口支援', undefined]]);
  });
});

describe('loadGlossary', () => {
  it('gives an empty glossary when the corpus has no glossary file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'duikou-glossary-'));
    try {
      expect(loadGlossary(dir).entries).toEqual([]);
      writeFileSync(join(dir, GLOSSARY_FILE), 'zh\ten\tsource\n援疆\taid to Xinjiang\tcurated\n');
      expect(loadGlossary(dir).expansionsOf('Aid to Xinjiang')).toHaveLength(1);
      writeFileSync(join(dir, GLOSSARY_FILE), 'zh\ten\tsource\n援疆\n');
      expectUserInputError(() => loadGlossary(dir), /duikou\.glossary\.tsv, line 2\b/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the shipped glossary', () => {
  const glossary = loadGlossary(CORPUS);
  const glossaryText = readFileSync(join(CORPUS, GLOSSARY_FILE), 'utf8');
  const occursZh = (zh: string): boolean => allText.includes(zh);
  const occursEn = (en: string): boolean => allTextNormalized.includes(normalizeGlossaryTerm(en));

  it('has at least 40 distinct pairs', () => {
    expect(glossary.entries.length).toBeGreaterThanOrEqual(40);
  });

  it('expands the key terms both ways', () => {
    const ens = glossary.translationsOf('对口支援').map((t) => t.term);
    expect(ens).toEqual(expect.arrayContaining(['counterpart support', 'partner assistance', 'pairing assistance', 'paired aiding']));
    expect(glossary.translationsOf('Partner Assistance').map((t) => t.term)).toContain('对口支援');
    expect(glossary.translationsOf('Nyingchi prefecture').map((t) => t.term)).toEqual(['林芝地区']);
    expect(glossary.translationsOf('汶川地震').map((t) => t.term)).toEqual(['Wenchuan earthquake']);
    expect(glossary.translationsOf('village-resident cadres').map((t) => t.term)).toEqual(['驻村干部']);
    expect(glossary.translationsOf('historical institutionalism').map((t) => t.term)).toEqual(['历史制度主义']);
    expect(glossary.translationsOf('西藏').map((t) => t.term)).toEqual(['Tibet']);
  });

  it('pairs every Chinese term an English paper gives in parentheses, and every reference author given in both scripts', () => {
    let checked = 0;
    for (const [id, text] of corpusTexts) {
      if (id === CHINESE_PAPER) continue;
      // "Nyingchi prefecture (林芝地区)"
      for (const m of text.matchAll(/([A-Z][A-Za-z]+(?: [a-z]+)?) [(（](\p{Script=Han}+)[)）]/gu)) {
        expect(
          glossary.translationsOf(m[2]!).map((t) => t.term.toLowerCase()),
          m[0],
        ).toContain(m[1]!.toLowerCase());
        checked++;
      }
      // "[24]Zhu Qianwei 竺乾威," and "and Zheng Chunyong 郑春勇,"
      for (const m of text.matchAll(/(?:\]|and )([A-Z][a-z]+ [A-Z][a-z]+) (\p{Script=Han}{2,3})[,，]/gu)) {
        expect(
          glossary.translationsOf(m[2]!).map((t) => t.term),
          m[0],
        ).toContain(m[1]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(25);
  });

  it('names a corpus document (holding one side of the pair) or "curated" as source', () => {
    for (const { zh, en, source } of glossary.entries) {
      if (source === 'curated') continue;
      const text = corpusTexts.get(source);
      expect(text, `unknown source ${source} for ${zh} ↔ ${en}`).toBeDefined();
      const inSource = (text ?? '').includes(zh) || normalizeGlossaryTerm(text ?? '').includes(normalizeGlossaryTerm(en));
      expect(inSource, `${zh} ↔ ${en}: neither side occurs in ${source}`).toBe(true);
    }
  });

  it('covers the corpus: at least 80% of pairs have a side in the corpus, the rest listed in comments', () => {
    const missing = glossary.entries.filter((e) => !occursZh(e.zh) && !occursEn(e.en));
    expect(missing.length / glossary.entries.length).toBeLessThanOrEqual(0.2);
    const comments = glossaryText
      .split('\n')
      .filter((l) => l.trimStart().startsWith('#'))
      .join('\n');
    for (const e of missing) expect(comments, `${e.zh} ↔ ${e.en} not listed as an exception`).toContain(`${e.zh} ↔ ${e.en}`);
  });

  it('uses the Chinese paper and the English papers for most terms', () => {
    const zhShare = glossary.entries.filter((e) => occursZh(e.zh)).length / glossary.entries.length;
    const enShare = glossary.entries.filter((e) => occursEn(e.en)).length / glossary.entries.length;
    expect(zhShare).toBeGreaterThanOrEqual(0.7);
    expect(enShare).toBeGreaterThanOrEqual(0.7);
  });
});

describe('the jieba user dictionary', () => {
  const userdictLines = readFileSync(USERDICT, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const userWords = userdictLines.map((l) => l.split(' ')[0] ?? '');
  const glossaryZh = [...new Set(loadGlossary(CORPUS).entries.map((e) => e.zh))];

  /** Terms the search must find whole; all occur in the Chinese paper. */
  const KEY_TERMS = [
    '对口支援',
    '对口援藏',
    '对口援疆',
    '援疆',
    '脱贫攻坚',
    '东西部扶贫协作',
    '东西部协作',
    '乡村振兴',
    '驻村干部',
    '驻村工作队',
    '第一书记',
    '定点帮扶',
    '汶川地震',
    '灾后重建',
    '厂社挂钩',
    '横向转移支付',
    '财政转移支付',
    '全国边防工作会议',
    '结对帮扶',
    '中央单位',
    '万企帮万村',
    '精准脱贫',
    '共同富裕',
  ];
  /** Key terms the Chinese paper does not use (they come from the English papers and the curated pairs). */
  const ABSENT_TERMS: Array<[term: string, sentence: string]> = [
    ['林芝地区', '福建省对口支援林芝地区二十多年。'],
    ['历史制度主义', '本文从历史制度主义的视角分析对口支援政策变迁。'],
    ['路径依赖', '对口支援制度的变迁呈现出明显的路径依赖。'],
    ['行政发包制', '纵向的行政发包制与横向的晋升锦标赛共同驱动。'],
    ['任务型政府间网络', '对口支援构建了一个任务型政府间网络。'],
    ['对口援助', '对口援助与精准扶贫相结合。'],
  ];

  /** Glossary terms the corpus holds only as a substring across two words (援青 in 支援/青海). */
  const SUBSTRING_ONLY: Record<string, string> = { 援青: '支援青海' };

  beforeAll(() => {
    // nodejieba.load may run once per process; vitest runs each test file in its own worker.
    nodejieba.load({ userDict: USERDICT });
  });

  /** The sentence around `index` in `text` (between 。！？；, line ends). */
  function sentenceAt(text: string, index: number): { sentence: string; offset: number } {
    const isEnd = (ch: string | undefined): boolean => ch !== undefined && /[。！？；\n]/.test(ch);
    let start = index;
    while (start > 0 && !isEnd(text[start - 1])) start--;
    let end = index;
    while (end < text.length && !isEnd(text[end])) end++;
    return { sentence: text.slice(start, end), offset: start };
  }

  /** True unless a token boundary falls strictly inside `[from, to)` of the cut sentence. */
  function keptWhole(tokens: string[], from: number, to: number): boolean {
    let pos = 0;
    for (const t of tokens) {
      if (pos > from && pos < to) return false;
      pos += t.length;
    }
    return true;
  }

  /** Every occurrence of `term` in `text` with whether jieba (HMM on) keeps it whole in its sentence. */
  function occurrences(text: string, term: string): Array<{ sentence: string; tokens: string[]; whole: boolean; single: boolean }> {
    const out = [];
    for (let i = text.indexOf(term); i >= 0; i = text.indexOf(term, i + term.length)) {
      const { sentence, offset } = sentenceAt(text, i);
      const tokens = nodejieba.cut(sentence, true);
      const from = i - offset;
      let pos = 0;
      let single = false;
      for (const t of tokens) {
        if (pos === from && t === term) single = true;
        pos += t.length;
      }
      out.push({ sentence, tokens, whole: keptWhole(tokens, from, from + term.length), single });
    }
    return out;
  }

  it('is in nodejieba format with 60–200 distinct entries', () => {
    expect(userdictLines.length).toBeGreaterThanOrEqual(60);
    expect(userdictLines.length).toBeLessThanOrEqual(200);
    expect(new Set(userWords).size).toBe(userWords.length);
    for (const line of userdictLines) {
      // `word [freq] tag`, single spaces; no comments (cppjieba would read them as words)
      expect(line).toMatch(/^\p{Script=Han}[\p{Script=Han}A-Za-z0-9]* (?:\d+ )?[a-z]+$/u);
    }
  });

  it('contains every Chinese glossary term that the main dictionary would split', () => {
    for (const zh of glossaryZh) {
      expect(nodejieba.cut(zh, true), zh).toEqual([zh]);
    }
  });

  it('keeps every user-dictionary word a single token on its own', () => {
    for (const w of userWords) expect(nodejieba.cut(w, true), w).toEqual([w]);
  });

  it('keeps the key domain terms whole in every sentence of the Chinese paper', () => {
    for (const term of KEY_TERMS) {
      const occ = occurrences(chinesePaper, term);
      expect(occ.length, `${term} should occur in ${CHINESE_PAPER}`).toBeGreaterThan(0);
      for (const o of occ) expect(o.whole, `${term} cut through in: ${o.tokens.join('/')}`).toBe(true);
      expect(
        occ.some((o) => o.single),
        `${term} never a token of its own`,
      ).toBe(true);
    }
  });

  it('cuts each Chinese glossary term as one token in a real sentence of the corpus', () => {
    for (const zh of glossaryZh) {
      const occ = occurrences(allText, zh);
      if (occ.length === 0) continue; // terms only the English papers give: checked alone above
      if (zh in SUBSTRING_ONLY) {
        // every occurrence straddles two words, and jieba rightly splits it there
        expect(
          occ.every((o) => o.sentence.includes(SUBSTRING_ONLY[zh] ?? '\u0000') && !o.whole),
          zh,
        ).toBe(true);
        continue;
      }
      // 援藏 occurs only inside 对口援藏: a longer user-dictionary word holding the term is
      // fine (cutForSearch still yields the term as a sub-word of it).
      const insideLongerWord = occ.every((o) => o.whole && o.tokens.some((t) => t !== zh && t.includes(zh) && userWords.includes(t)));
      expect(occ.some((o) => o.single) || insideLongerWord, `${zh}: ${occ[0]?.tokens.join('/')}`).toBe(true);
      if (!occ.some((o) => o.single)) expect(nodejieba.cutForSearch(occ[0]?.sentence ?? '', true)).toContain(zh);
    }
  });

  it('cuts the key terms the Chinese paper lacks as one token in context', () => {
    for (const [term, sentence] of ABSENT_TERMS) {
      expect(sentence).toContain(term);
      expect(nodejieba.cut(sentence, true), sentence).toContain(term);
    }
  });

  it('found the sentences it tests (sanity check of the sentence splitter)', () => {
    const i = chinesePaper.indexOf('全国边防工作会议');
    const { sentence } = sentenceAt(chinesePaper, i);
    expect(sentence).toContain('乌兰夫');
    expect(nodejieba.cut(sentence, true)).toContain('全国边防工作会议');
  });
});
