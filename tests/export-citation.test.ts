import { describe, expect, it } from 'vitest';
import {
  type CitableDocument,
  type CitationStyleOption,
  formatInText,
  formatNarrative,
  formatPages,
  formatQuoteCitation,
  formatReference,
  formatReferenceList,
  parseName,
  styleFor,
} from '../src/export/citation.js';
import type { PageRange } from '../src/core/types.js';

const zh: CitableDocument = {
  title: '中国特色对口支援机制：成就、经验与价值',
  authors: ['王禹澔'],
  year: 2022,
  venue: '管理世界',
  lang: 'zh',
};
const en: CitableDocument = {
  title: "Changes in Our Government's Counterpart Support Policy",
  authors: ['Hanjing Wang'],
  year: 2023,
  venue: 'International Journal of Social Sciences and Public Administration',
  lang: 'en',
};
const d = (over: Partial<CitableDocument>, base: CitableDocument = en): CitableDocument => ({ ...base, ...over });

describe('parseName', () => {
  it.each([
    ['王禹澔', { family: '王禹澔', given: [], cjk: true }],
    ['王 禹澔', { family: '王禹澔', given: [], cjk: true }],
    ['Hanjing Wang', { family: 'Wang', given: ['Hanjing'], cjk: false }],
    ['Zhou, Na', { family: 'Zhou', given: ['Na'], cjk: false }],
    ['  Danyang   Li ', { family: 'Li', given: ['Danyang'], cjk: false }],
    ['UNESCO', { family: 'UNESCO', given: [], cjk: false }],
  ])('%s', (raw, expected) => expect(parseName(raw)).toEqual(expected));
});

describe('formatReference', () => {
  const cases: [string, CitableDocument, CitationStyleOption, string][] = [
    ['zh auto → GB/T', zh, 'auto', '王禹澔. 中国特色对口支援机制：成就、经验与价值[J]. 管理世界, 2022.'],
    [
      'en auto → APA',
      en,
      'auto',
      "Wang, H. (2023). Changes in Our Government's Counterpart Support Policy. International Journal of Social Sciences and Public Administration.",
    ],
    [
      'en GB/T',
      en,
      'gbt7714',
      "WANG H. Changes in Our Government's Counterpart Support Policy[J]. International Journal of Social Sciences and Public Administration, 2023.",
    ],
    ['zh APA', zh, 'apa', '王禹澔. (2022). 中国特色对口支援机制：成就、经验与价值. 管理世界.'],
    [
      'APA no year',
      d({ year: null }),
      'apa',
      "Wang, H. (n.d.). Changes in Our Government's Counterpart Support Policy. International Journal of Social Sciences and Public Administration.",
    ],
    ['GB/T no year', d({ year: null }, zh), 'auto', '王禹澔. 中国特色对口支援机制：成就、经验与价值[J]. 管理世界.'],
    ['APA no venue', d({ venue: null }), 'apa', "Wang, H. (2023). Changes in Our Government's Counterpart Support Policy."],
    ['GB/T no venue', d({ venue: null }, zh), 'auto', '王禹澔. 中国特色对口支援机制：成就、经验与价值[Z]. 2022.'],
    ['GB/T no venue no year', d({ venue: null, year: null }, zh), 'auto', '王禹澔. 中国特色对口支援机制：成就、经验与价值[Z].'],
    [
      'APA two authors',
      d({ authors: ['Danyang Li', 'Chuyuan Zhong'], title: 'Personalized Pairing', venue: null, year: 2025 }),
      'apa',
      'Li, D., & Zhong, C. (2025). Personalized Pairing.',
    ],
    [
      'APA three authors',
      d({ authors: ['Danyang Li', 'Chuyuan Zhong', 'Xiao-Ming Chen'], title: 'T', venue: 'V', year: 2025 }),
      'apa',
      'Li, D., Zhong, C., & Chen, X.-M. (2025). T. V.',
    ],
    ['APA title ending in ?', d({ title: 'Does Pairing Work?', venue: null }), 'apa', 'Wang, H. (2023). Does Pairing Work?'],
    [
      'APA no author',
      d({ authors: [] }),
      'apa',
      "Changes in Our Government's Counterpart Support Policy. (2023). International Journal of Social Sciences and Public Administration.",
    ],
    [
      'GB/T four zh authors → 等',
      d({ authors: ['张三', '李四', '王五', '赵六'] }, zh),
      'auto',
      '张三, 李四, 王五, 等. 中国特色对口支援机制：成就、经验与价值[J]. 管理世界, 2022.',
    ],
    [
      'GB/T three zh authors',
      d({ authors: ['张三', '李四', '王五'] }, zh),
      'auto',
      '张三, 李四, 王五. 中国特色对口支援机制：成就、经验与价值[J]. 管理世界, 2022.',
    ],
    [
      'GB/T four en authors → et al',
      d({ authors: ['Danyang Li', 'Chuyuan Zhong', 'Yipin Wu', 'Chunyong Zheng'], title: 'T', venue: 'V' }),
      'gbt7714',
      'LI D, ZHONG C, WU Y, et al. T[J]. V, 2023.',
    ],
    ['GB/T hyphenated given name', d({ authors: ['Xiao-Ming Chen'], title: 'T', venue: 'V' }), 'gbt7714', 'CHEN X M. T[J]. V, 2023.'],
  ];
  it.each(cases)('%s', (_name, doc, style, expected) => expect(formatReference(doc, style)).toBe(expected));

  it('APA with 21+ authors keeps 19, an ellipsis and the last', () => {
    const authors = Array.from({ length: 22 }, (_, i) => `Given${i} Family${i}`);
    const ref = formatReference(d({ authors, title: 'T', venue: null }), 'apa');
    expect(ref.startsWith('Family0, G., Family1, G.')).toBe(true);
    expect(ref).toContain('Family18, G., … Family21, G. (2023). T.');
    expect(ref).not.toContain('Family19,');
  });
});

describe('in-text and narrative citations', () => {
  const cases: [string, CitableDocument, CitationStyleOption, string, string][] = [
    ['en APA', en, 'auto', '(Wang, 2023)', 'Wang (2023)'],
    ['zh GB/T', zh, 'auto', '（王禹澔，2022）', '王禹澔（2022）'],
    ['zh APA', zh, 'apa', '(王禹澔, 2022)', '王禹澔 (2022)'],
    ['en GB/T', en, 'gbt7714', '(WANG, 2023)', 'WANG (2023)'],
    ['APA n.d.', d({ year: null }), 'apa', '(Wang, n.d.)', 'Wang (n.d.)'],
    ['GB/T no year zh', d({ year: null }, zh), 'auto', '（王禹澔）', '王禹澔'],
    ['APA two', d({ authors: ['Danyang Li', 'Chuyuan Zhong'] }), 'apa', '(Li & Zhong, 2023)', 'Li & Zhong (2023)'],
    ['APA three', d({ authors: ['Danyang Li', 'Chuyuan Zhong', 'Yipin Wu'] }), 'apa', '(Li et al., 2023)', 'Li et al. (2023)'],
    ['GB/T two zh', d({ authors: ['张三', '李四'] }, zh), 'auto', '（张三 等，2022）', '张三 等（2022）'],
    ['GB/T two en', d({ authors: ['Danyang Li', 'Chuyuan Zhong'] }), 'gbt7714', '(LI et al., 2023)', 'LI et al. (2023)'],
    [
      'APA no author',
      d({ authors: [], title: 'Partner Assistance' }),
      'apa',
      '(“Partner Assistance”, 2023)',
      '“Partner Assistance” (2023)',
    ],
  ];
  it.each(cases)('%s', (_n, doc, style, inText, narrative) => {
    expect(formatInText(doc, style)).toBe(inText);
    expect(formatNarrative(doc, style)).toBe(narrative);
  });

  it('adds the section to a quote citation', () => {
    expect(formatQuoteCitation(en, '3.2.2 Key Nodes')).toBe('(Wang, 2023), § 3.2.2 Key Nodes');
    expect(formatQuoteCitation(zh, '三、对口支援的经验')).toBe('（王禹澔，2022）, § 三、对口支援的经验');
    expect(formatQuoteCitation(en, null)).toBe('(Wang, 2023)');
    expect(formatQuoteCitation(en, '  ')).toBe('(Wang, 2023)');
  });

  const one = { first: 12, last: 12 };
  const two = { first: 12, last: 13 };
  const pageCases: Array<[string, Parameters<typeof formatInText>[0], CitationStyleOption, PageRange, string, string]> = [
    ['APA one page', en, 'auto', one, '(Wang, 2023, p. 12)', 'Wang (2023, p. 12)'],
    ['APA two pages', en, 'auto', two, '(Wang, 2023, pp. 12–13)', 'Wang (2023, pp. 12–13)'],
    ['APA n.d.', d({ year: null }), 'apa', one, '(Wang, n.d., p. 12)', 'Wang (n.d., p. 12)'],
    ['GB/T zh one page', zh, 'auto', one, '（王禹澔，2022）: 12', '王禹澔（2022）: 12'],
    ['GB/T zh two pages', zh, 'auto', two, '（王禹澔，2022）: 12-13', '王禹澔（2022）: 12-13'],
    ['GB/T en', en, 'gbt7714', one, '(WANG, 2023): 12', 'WANG (2023): 12'],
    ['GB/T no year', d({ year: null }, zh), 'auto', one, '（王禹澔）: 12', '王禹澔: 12'],
  ];
  it.each(pageCases)('cites the page: %s', (_n, doc, style, pages, inText, narrative) => {
    expect(formatInText(doc, style, pages)).toBe(inText);
    expect(formatNarrative(doc, style, pages)).toBe(narrative);
    expect(formatQuoteCitation(doc, 'S', style, pages)).toBe(`${inText}, § S`);
  });

  it('says nothing of pages without page information', () => {
    expect(formatInText(en, 'auto', null)).toBe('(Wang, 2023)');
    expect(formatQuoteCitation(zh, null, 'auto', undefined)).toBe('（王禹澔，2022）');
    expect(formatPages(two, 'apa')).toBe('pp. 12–13');
    expect(formatPages(one, 'gbt7714')).toBe('12');
  });

  it('picks each paper’s own style in auto', () => {
    expect(styleFor(zh)).toBe('gbt7714');
    expect(styleFor(en)).toBe('apa');
    expect(styleFor(zh, 'apa')).toBe('apa');
  });
});

describe('formatReferenceList', () => {
  const li = d({ authors: ['Danyang Li'], title: 'Li paper', venue: null, year: 2025 });
  const zhou = d({ authors: ['Zhou, Na'], title: 'Overview', venue: null, year: 2019 });
  it('puts Chinese papers first in GB/T and auto, then sorts by family name', () => {
    const list = formatReferenceList([en, li, zh, zhou]);
    expect(list[0]).toContain('王禹澔');
    expect(list.slice(1).map((r) => r.split(',')[0])).toEqual(['Li', 'Wang', 'Zhou']);
  });
  it('is one list in APA, in Chinese collation order (Han names, by pinyin, before Latin)', () => {
    const li2 = d({ authors: ['李四'], title: '标题' }, zh);
    const list = formatReferenceList([zhou, zh, li, en, li2], 'apa');
    expect(list.map((r) => r.split(/[,.]/)[0])).toEqual(['李四', '王禹澔', 'Li', 'Wang', 'Zhou']);
  });
});
