import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyze, findRun, follows, hanBigrams, hanRun, latinTerm } from '../src/pipeline/analyze.js';
import nodejieba from 'nodejieba';
import { normalize, toSource } from '../src/pipeline/normalize.js';
import { sampleText } from './helpers/sample.js';

const corpus = (id: string) => sampleText(id);

/** Terms of a text, in order, without the index-mode sub-words. */
const words = (text: string) =>
  analyze(text, 'query')
    .filter((t) => !t.sub)
    .map((t) => t.term);

describe('normalisation', () => {
  it.each([
    ['full-width Latin folds to ASCII', 'ＷＥＮＣＨＵＡＮ', 'WENCHUAN'],
    ['full-width digits fold', '２００８年', '2008年'],
    ['traditional becomes simplified', '對口支援', '对口支援'],
    ['full-width comma folds', '对口，支援', '对口,支援'],
    ['ligature unfolds', 'ﬁnance', 'finance'],
    ['ASCII untouched', 'Key Nodes', 'Key Nodes'],
  ])('%s', (_name, input, expected) => {
    expect(normalize(input).text).toBe(expected);
  });

  it('maps every normalised range back to the source characters it came from', () => {
    const input = '𠀀ﬁnance ＷＥＮ對口😀';
    const n = normalize(input);
    const at = n.text.indexOf('finance');
    expect(toSource(n, at, at + 'finance'.length)).toEqual({ start: input.indexOf('ﬁ'), end: input.indexOf(' ') });
    const zh = n.text.indexOf('对口');
    const src = toSource(n, zh, zh + 2);
    expect(input.slice(src.start, src.end)).toBe('對口');
  });
});

describe('analysis rules', () => {
  it.each([
    ['English is case-folded and stemmed', 'Key Nodes', ['kei', 'node']],
    ['"key node" and "Key Nodes" meet in the same terms', 'key node', ['kei', 'node']],
    ['a possessive is dropped', "China's provinces", ['china', 'provinc']],
    ['diacritics are folded', 'Zürich école', ['zurich', 'ecol']],
    ['years are terms', 'in 1979 and 2008', ['in', '1979', 'and', '2008']],
    ['a year range is two years', '2008-2011', ['2008', '2011']],
    ['thousands separators are dropped, decimals kept', '1,348.11 billion', ['1348.11', 'billion']],
    ['a list of years stays apart', '2019,2020', ['2019', '2020']],
    ['a code with digits is one unstemmed term', 'RMB1.9 billion', ['rmb1.9', 'billion']],
    ['hyphenated words are two adjacent terms', 'inter-provincial', ['inter', 'provinci']],
    ['the domain dictionary keeps 对口支援 whole', '中国特色对口支援机制', ['中国特色', '对口支援', '机制']],
    ['traditional input meets simplified terms', '對口支援', ['对口支援']],
    ['full-width Latin meets ASCII terms', 'ＷＥＮＣＨＵＡＮ', ['wenchuan']],
    ['Chinese inside English is segmented', 'Nyingchi prefecture (林芝地区)', ['nyingchi', 'prefectur', '林芝地区']],
    ['characters outside the BMP are terms', '𠀀中国', ['𠀀', '中国']],
    ['emoji and punctuation are not terms', '😀 — !!', []],
    ['a year glued to Chinese is split from it', '2008年汶川地震后', ['2008', '年', '汶川地震', '后']],
    ['a date is numbers and characters', '1979年7月', ['1979', '年', '7', '月']],
    ['Latin letters glued to Chinese are split', 'GDP增长', ['gdp', '增长']],
    ['Chinese glued to a following number is split', '增长8%', ['增长', '8']],
    [
      'a chunk that starts with a year is segmented, not one token',
      '1986年国家科委定点支援大别山贫困县',
      ['1986', '年', '国家科委', '定点', '支援', '大别山', '贫困县'],
    ],
    ['a circled footnote number never glues to a word', '支援①的support②', ['支援', '的', 'support']],
    ['a superscript never glues to a word', 'pairing² assistance', ['pair', 'assist']],
    ['a parenthesised number mark is a boundary', '⑴对口支援', ['对口支援']],
  ])('%s', (_name, input, expected) => {
    expect(words(input)).toEqual(expected);
  });

  it('keeps Latin words out of jieba, so they are not split into letters', () => {
    expect(words('援藏 cadres 援疆')).toEqual(['援藏', 'cadr', '援疆']);
  });

  it('gives a Chinese word once: the bigram layer, not sub-words, finds what stands inside it', () => {
    expect(analyze('对口支援', 'index').map((t) => t.term)).toEqual(['对口支援']);
    expect(hanBigrams('对口支援')).toEqual(['对口', '口支', '支援']);
  });

  it('adds the joined form of a hyphenated compound in index mode only, at its first part', () => {
    const text = 'the self-governing rules';
    const index = analyze(text, 'index');
    expect(index.map((t) => [t.term, t.position, t.sub ?? false])).toEqual([
      ['the', 0, false],
      ['self', 1, false],
      ['selfgovern', 1, true],
      ['govern', 2, false],
      ['rule', 3, false],
    ]);
    const joined = index.find((t) => t.sub)!;
    expect(text.slice(joined.start, joined.end)).toBe('self-governing');
    expect(analyze(text, 'query').map((t) => t.term)).toEqual(['the', 'self', 'govern', 'rule']);
    // Numbers joined by a hyphen are a range, not a word.
    expect(analyze('2008-2011', 'index').some((t) => t.sub)).toBe(false);
  });

  it('gives offsets of the surface form on a real mixed-script paper', () => {
    const text = corpus('zhou-partner-assistance-overview');
    for (const t of analyze(text)) {
      const surface = text.slice(t.start, t.end);
      expect(surface.length).toBeGreaterThan(0);
      // The surface form analyses back to the same term.
      expect(analyze(surface, 'index').map((x) => x.term)).toContain(t.term);
    }
  });

  it('hanRun: a query item that is nothing but Chinese characters, after normalisation', () => {
    expect(hanRun('對口支援')).toBe('对口支援');
    expect(hanRun(' 援 ')).toBe('援');
    expect(hanRun('对口 支援')).toBeNull();
    expect(hanRun('GDP增长')).toBeNull();
    expect(hanRun('𠀀中国')).toBe('𠀀中国');
  });

  it('findRun finds a run like grep over the normalised text, in source offsets', () => {
    const text = '對口支援机制；对口，支援；支援对口支援😀对口支援';
    const found = findRun(text, '对口支援').map((r) => text.slice(r.start, r.end));
    expect(found).toEqual(['對口支援', '对口支援', '对口支援']);
    expect(findRun(text, '对口，支援')).toEqual([]);
  });

  it('latinTerm leaves nothing of a lone apostrophe-s', () => {
    expect(latinTerm("'s")).toBeNull();
  });
});

describe('adjacency', () => {
  const at = (text: string, term: string) => analyze(text, 'index').find((t) => t.term === term)!;

  it('Chinese tokens must touch', () => {
    const touching = analyze('对口支援机制', 'index');
    const a = touching.find((t) => t.term === '对口支援')!;
    const b = touching.find((t) => t.term === '机制')!;
    expect(follows(a, b)).toBe(true);
    const apart = analyze('对口，支援', 'index');
    expect(follows(apart[0]!, apart[1]!)).toBe(false);
  });

  it('Latin words follow across spaces and punctuation but not across a word', () => {
    const text = 'key, node key other node';
    const toks = analyze(text, 'index');
    expect(follows(toks[0]!, toks[1]!)).toBe(true);
    expect(follows(toks[2]!, toks[4]!)).toBe(false);
    expect(at(text, 'kei').term).toBe('kei');
  });
});

describe('properties', () => {
  const mixed = fc.string({
    unit: fc.constantFrom(
      '对',
      '口',
      '支',
      '援',
      '對',
      'Ｗ',
      'a',
      'B',
      'é',
      '1',
      '9',
      ',',
      '.',
      ' ',
      '\n',
      '-',
      "'",
      '𠀀',
      '😀',
      '\u0301',
      'ﬁ',
      '，',
      '。',
    ),
    maxLength: 60,
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(fc.oneof(mixed, fc.string({ unit: 'binary', maxLength: 40 })), (s) => {
        expect(analyze(s)).toEqual(analyze(s));
      }),
    );
  });

  it('every token lies inside the text, in order, with a non-empty surface form', () => {
    fc.assert(
      fc.property(fc.oneof(mixed, fc.string({ unit: 'binary', maxLength: 40 })), (s) => {
        let lastPosition = -1;
        for (const t of analyze(s)) {
          expect(t.start).toBeGreaterThanOrEqual(0);
          expect(t.end).toBeLessThanOrEqual(s.length);
          expect(t.end).toBeGreaterThan(t.start);
          expect(t.term).not.toBe('');
          expect(t.term).not.toContain(' ');
          expect(t.position).toBeGreaterThanOrEqual(lastPosition);
          lastPosition = t.position;
        }
      }),
    );
  });

  it('query terms are a subset of index terms for the same text', () => {
    fc.assert(
      fc.property(mixed, (s) => {
        const index = new Set(analyze(s, 'index').map((t) => t.term));
        for (const t of analyze(s, 'query')) expect(index.has(t.term)).toBe(true);
      }),
    );
  });
});

describe('one jieba call per text', () => {
  // Each Han run of a text (Han characters with the punctuation and spaces between them) cut on its own,
  // the way the analyzer cut them before it joined a text's runs into one call.
  const HAN_RUNS = /\p{Script=Han}(?:[\p{Script=Han}\p{P}\p{Zs}]*\p{Script=Han})?/gu;
  const perRun = (text: string): string[] =>
    [...text.matchAll(HAN_RUNS)].flatMap((m) => nodejieba.cut(m[0], true).filter((w) => /\p{Script=Han}/u.test(w)));

  it('cuts every Han run as a call of its own would, in text order and at the same offsets', () => {
    analyze('对口'); // jieba's dictionaries loaded, as the analyzer loads them
    const piece = fc.constantFrom(
      '对口支援',
      '新疆维吾尔自治区',
      '习近平总书记强调',
      '援藏干部',
      '𠀀𪚥字',
      '，',
      '。',
      '、',
      ' ',
      'GDP',
      '2008',
      'Counterpart Support',
      '年',
      '我们在北京大学',
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 12 }).map((p) => p.join('')),
        (text) => {
          const toks = analyze(text).filter((t) => t.script === 'han');
          expect(toks.map((t) => t.term)).toEqual(perRun(text));
          for (const t of toks) expect(text.slice(t.start, t.end)).toBe(t.term);
        },
      ),
      { numRuns: 300 },
    );
  });
});
