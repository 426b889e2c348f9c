/**
 * Pinyin: reading a query typed in pinyin as the corpus's Chinese terms
 * (table-driven over the rewrite, and against the real sample, where the
 * concordance of `duikou zhiyuan` must list exactly the occurrences of
 * 对口支援 that a scan of the passages finds), finding tags by initials, and
 * the sort order of Chinese and Latin names.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import { Engine } from '../src/backends/embedded/engine.js';
import { PinyinLexicon, compareWords, matchesTyped, pinyinKeys, pinyinLetters, readPinyin } from '../src/pipeline/pinyin.js';
import { type ParsedQuery, parseQuery } from '../src/pipeline/query.js';
import { joinPieces } from '../src/pipeline/segment.js';
import { SAMPLE } from './helpers/sample.js';
import { paper } from './helpers/paper.js';

const lexicon = new PinyinLexicon();
lexicon.addTerms(['对口支援', '对口', '支援', '志愿', '援藏', '援疆', '西藏', '我们', '对口|支援', '2008年', '援', 'policy', '邓小平']);
const reader = (known: string[] = []) => ({ read: (l: string) => lexicon.read(l), known: (w: string) => known.includes(w.toLowerCase()) });

/** A parsed query's clauses as text: items of a clause joined by |, phrases quoted. */
const show = (q: ParsedQuery) => ({
  clauses: q.clauses.map((c) => c.map((i) => (i.kind === 'phrase' ? `"${i.text}"` : i.text)).join('|')),
  exclude: q.exclude.map((i) => i.text),
});

describe('reading a query typed in pinyin', () => {
  const table: [string, string[], string[]?, string[]?][] = [
    // typed, clauses after, excluded after, words the corpus knows
    ['duikou zhiyuan', ['"duikou zhiyuan"|对口支援']],
    ['duikouzhiyuan', ['duikouzhiyuan|对口支援']],
    ['Duikou Zhiyuan', ['"Duikou Zhiyuan"|对口支援']],
    ['dui kou zhi yuan', ['"dui kou zhi yuan"|对口支援']],
    ['"duikou zhiyuan"', ['"duikou zhiyuan"|对口支援']],
    // a word alone reads as every term of the corpus that sounds so
    ['zhiyuan', ['zhiyuan|支援|志愿']],
    ['yuanzang yuanjiang', ['"yuanzang yuanjiang"|援藏援疆']],
    ['yuanzang OR yuanjiang', ['yuanzang|援藏|yuanjiang|援疆']],
    ['对口支援 -yuanzang', ['对口支援'], ['yuanzang', '援藏']],
    // the longest run that reads wins; the rest stays as typed
    ['duikou zhiyuan policy', ['"duikou zhiyuan"|对口支援', 'policy']],
    ['policy xizang', ['policy', 'xizang|西藏']],
    // words the papers hold as typed are searched as typed only
    ['Deng Xiaoping', ['Deng', 'Xiaoping'], [], ['deng', 'xiaoping']],
    ['Deng Xiaoping', ['"Deng Xiaoping"|邓小平'], [], ['deng']],
    ['deng xiaoping', ['"deng xiaoping"|邓小平']],
    ['women', ['women'], [], ['women']],
    ['women', ['women|我们']],
    // nothing reads: unchanged
    ['counterpart support', ['counterpart', 'support']],
    ['dkzy', ['dkzy']],
    ['yuan', ['yuan']],
    ['lang:zh 对口', ['对口']],
  ];
  it.each(table)('%s', (typed, clauses, exclude = [], known = []) => {
    const q = parseQuery(typed);
    const before = JSON.stringify(q);
    const out = readPinyin(q, reader(known));
    expect(show(out)).toEqual({ clauses, exclude });
    expect(JSON.stringify(q)).toBe(before); // the parsed query is not changed in place
    expect(out.filters).toEqual(q.filters);
  });

  it('reads letters as the fewest terms, never as terms the corpus no longer has', () => {
    expect(lexicon.read('duikouzhiyuan')).toEqual(['对口支援']);
    expect(lexicon.read('duikou')).toEqual(['对口']);
    expect(lexicon.read('duikouzhiyuan', (t) => t !== '对口支援')).toEqual(['对口支援', '对口志愿']);
    expect(lexicon.read('duikoux')).toEqual([]);
    expect(lexicon.read('')).toEqual([]);
    // one-character terms and biwords are not kept
    expect(lexicon.terms('yuan')).toEqual([]);
    expect(lexicon.terms('duikouzhiyuan')).toEqual(['对口支援']);
  });

  it('takes letters, apostrophes and ü only', () => {
    const table: [string, string | null][] = [
      ["Xi'an", 'xian'],
      ['lü', 'lv'],
      ['duikou-zhiyuan', 'duikouzhiyuan'],
      ['对口', null],
      ['2008', null],
      ['a b', null],
    ];
    for (const [typed, want] of table) expect(pinyinLetters(typed), typed).toBe(want);
  });

  it('never throws and only adds Chinese alternatives, for any typed query', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (typed) => {
        let q: ParsedQuery;
        try {
          q = parseQuery(typed);
        } catch {
          return;
        }
        const out = readPinyin(q, reader());
        const typedItems = [...q.clauses.flat(), ...q.exclude].map((i) => i.text);
        for (const item of [...out.clauses.flat(), ...out.exclude]) {
          if (item.kind === 'term' && /^\p{Script=Han}+$/u.test(item.text) && !typedItems.includes(item.text)) continue;
          // anything else is what was typed, or typed words joined as a phrase
          expect(typedItems.includes(item.text) || item.text.split(' ').every((w) => typedItems.includes(w))).toBe(true);
        }
      }),
    );
  });
});

describe('pinyin queries over the sample papers', () => {
  it('finds every occurrence of 对口支援 for duikou zhiyuan, as a scan of the passages counts them, in all five papers', async () => {
    const engine = await openCorpus(SAMPLE);
    let scan = 0;
    for (const d of engine.documents())
      for (const p of d.passages) scan += [...joinPieces(d.text, p.pieces).text.matchAll(/对口支援/g)].length;
    expect(scan).toBeGreaterThan(100);
    const count = (q: string) =>
      engine
        .allMatchesParsed(parseQuery(q), { expand: false })
        .flatMap((m) => m.matches.map((s) => engine.requireDocument(m.passage.docId).text.slice(s.start, s.end)));
    for (const typed of ['duikou zhiyuan', 'duikouzhiyuan', 'DuiKou ZhiYuan']) {
      const found = count(typed);
      expect(found, typed).toHaveLength(scan);
      expect(new Set(found), typed).toEqual(new Set(['对口支援']));
    }
    // with the glossary, the English papers' counterpart support too: all five papers
    const all = engine.search('duikou zhiyuan', { limit: 1 });
    expect(Object.keys(all.perDocument).sort()).toEqual(engine.documents().map((d) => d.id));
    // the result echoes the query as typed
    expect(all.parsed.clauses.flat().map((i) => i.text)).toEqual(['duikou', 'zhiyuan']);
  }, 120_000);
});

describe('pinyin queries as papers come and go', () => {
  it('reads a word as pinyin only when no paper holds it as typed, and only as terms a paper still holds', () => {
    const engine = new Engine();
    engine.addDocument(paper('en', 'Women teachers went to Tibet under counterpart support.', 'en'));
    engine.addDocument(paper('zh', '我们支援西藏的学校。', 'zh'));
    engine.addDocument(paper('zy', '志愿服务在援藏工作中。', 'zh'));
    const papers = (q: string) => Object.keys(engine.search(q, { limit: 5 }).perDocument).sort();
    // An English paper holds `women`: searched as typed only.
    expect(papers('women')).toEqual(['en']);
    // 支援 and 志愿 both held: `zhiyuan` reads as either.
    expect(papers('zhiyuan')).toEqual(['zh', 'zy']);
    engine.removeDocument('en');
    // Removed, not yet compacted: its postings are still listed, but no longer count.
    expect(engine.index.stalePostings).toBeGreaterThan(0);
    expect(papers('women')).toEqual(['zh']);
    engine.updateDocument(paper('zy', '服务在援藏工作中。', 'zh'));
    expect(papers('zhiyuan')).toEqual(['zh']);
    engine.index.compactPostings();
    expect(papers('women')).toEqual(['zh']);
    expect(papers('zhiyuan')).toEqual(['zh']);
  });
});

describe('finding tags by pinyin', () => {
  const table: [string, string, boolean][] = [
    ['对口支援', 'dkzy', true],
    ['对口支援', 'DKZY', true],
    ['对口支援', 'duikou', true],
    ['对口支援', 'duikzy', true],
    ['对口支援', 'duikou zhiyuan', true],
    ['对口支援', 'zhiyuan', true],
    ['对口支援', '口支', true],
    ['对口支援', 'xz', false],
    ['援藏/教育', 'yzjy', true],
    ['援藏/教育', 'yuanzang', true],
    ['援藏/教育', 'yuancang', true], // any reading of a character with several (藏 cáng / zàng) finds it
    ['path dependence', 'PATH', true],
    ['path dependence', 'pd', false],
    ['干部', '', true],
  ];
  it.each(table)('%s ← %s: %s', (name, typed, want) => {
    expect(matchesTyped(name, typed)).toBe(want);
  });

  it('gives a tag its pinyin and initials for the page', () => {
    expect(pinyinKeys('对口支援/右')).toEqual({ full: 'duikouzhiyuanyou', initials: 'dkzyy' });
    expect(pinyinKeys('path dependence')).toEqual({ full: '', initials: '' });
  });
});

describe('pinyin order', () => {
  const table: [string[], string[]][] = [
    [
      ['治理', '安徽', 'Zebra', '北京', 'Beijing', 'apple', '重庆', '长沙', '西藏'],
      ['安徽', 'apple', '北京', 'Beijing', '长沙', '重庆', '西藏', 'Zebra', '治理'], // ze < zhi
    ],
    // 藏 in 援藏 is zàng (Tibet), so after 援疆 (jiāng)
    [
      ['援藏', '援疆', '对口支援', '对口援助'],
      ['对口援助', '对口支援', '援疆', '援藏'],
    ],
    // tones order a syllable: mā má mǎ mà
    [
      ['骂', '马', '麻', '妈'],
      ['妈', '麻', '马', '骂'],
    ],
  ];
  it.each(table)('%j', (given, want) => {
    expect([...given].sort(compareWords)).toEqual(want);
  });
});
