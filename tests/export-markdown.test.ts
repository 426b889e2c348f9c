import { describe, expect, it } from 'vitest';
import { escapeMarkdown, exportMarkdown } from '../src/export/markdown.js';
import { annEn1, annEn2, annotate, annOrphan, annZh1, annZh2, enDoc, input, zhDoc, zhText } from './export-fixtures.js';

/** The text between a heading line and the next heading of level ≤ `level` (or the end). */
function section(md: string, headingLine: string): string {
  const lines = md.split('\n');
  const i = lines.indexOf(headingLine);
  if (i < 0) throw new Error(`no heading "${headingLine}" in:\n${md}`);
  const level = headingLine.match(/^#+/)![0].length;
  const rest = lines.slice(i + 1);
  const j = rest.findIndex((l) => /^#+ /.test(l) && l.match(/^#+/)![0].length <= level);
  return (j < 0 ? rest : rest.slice(0, j)).join('\n');
}

/** Headings in order. */
const headings = (md: string) => md.split('\n').filter((l) => /^#{1,6} /.test(l));
const count = (hay: string, needle: string) => hay.split(needle).length - 1;

describe('exportMarkdown by tag', () => {
  const md = exportMarkdown(input);

  it('nests hierarchical tags, puts untagged last and the references at the end', () => {
    expect(headings(md)).toEqual(['# Quotes', '## 援藏', '### 教育', '## path dependence', '## Untagged', '## References']);
  });

  it('lists a quote with several tags under each of them', () => {
    expect(count(md, `> ${annEn1.exact}`)).toBe(2);
    expect(section(md, '## path dependence')).toContain(`> ${annEn1.exact}`);
    // `援藏` holds its own quotes; its child `教育` holds the deeper one
    const zang = section(md, '## 援藏');
    expect(zang).toContain(`> ${annZh2.exact}`);
    expect(section(md, '### 教育')).toContain(`> ${annZh1.exact}`);
    expect(section(md, '## Untagged')).toContain(`> ${annEn2.exact}`);
  });

  it('cites each quote with its section, each paper in its own style', () => {
    expect(md).toContain('— （王禹澔，2022）, § 三、对口支援的经验 · *Tags:* 援藏/教育');
    expect(md).toContain('— (Wang, 2023), § 3.2.2 Key Nodes · *Tags:* path dependence; 援藏');
    expect(md).toContain('— （王禹澔，2022） · *Tags:* 援藏'); // no section
    const refs = section(md, '## References').trim().split('\n');
    expect(refs).toEqual([
      '- 王禹澔. 中国特色对口支援机制：成就、经验与价值[J]. 管理世界, 2022.',
      `- Wang, H. (2023). Changes in Our Government's Counterpart Support Policy, Logic of Evolution and Prospects for Reform: An Analysis based on Historical Institutionalism. International Journal of Social Sciences and Public Administration.`,
    ]);
  });

  it('marks orphaned quotes', () => {
    const pd = section(md, '## path dependence');
    const marker = pd.indexOf('Orphaned');
    expect(marker).toBeGreaterThan(-1);
    expect(pd.indexOf(`> ${annOrphan.exact}`)).toBeGreaterThan(marker);
    expect(count(md, 'Orphaned')).toBe(1);
  });

  it('writes notes with markdown escaped and line breaks kept', () => {
    expect(md).toContain(
      '**Note:** Key claim: \\*path dependence\\* — compare 1979 "factory-package" [model].\\\nSecond line, with a comma, and "quotes".',
    );
  });

  it('shows full paths when asked', () => {
    const flat = exportMarkdown(input, { tagHeadings: 'path' });
    expect(headings(flat)).toEqual(['# Quotes', '## 援藏', '## 援藏/教育', '## path dependence', '## Untagged', '## References']);
  });

  it('keeps empty parent tags as headings and caps nesting at level 6', () => {
    const deep = annotate(enDoc, 'path dependence', { id: 'd', tags: ['a/b/c/d/e/f/g'] });
    const md2 = exportMarkdown({ annotations: [deep], documents: [enDoc] });
    expect(headings(md2).slice(1, -1)).toEqual([
      '## a',
      '### b',
      '#### c',
      '##### d',
      '###### e',
      '###### a/b/c/d/e/f',
      '###### a/b/c/d/e/f/g',
    ]);
  });
});

describe('exportMarkdown by paper', () => {
  it('groups by paper in reference order, with the reference under each title', () => {
    const md = exportMarkdown(input, { groupBy: 'paper' });
    expect(headings(md)).toEqual(['# Quotes', `## ${zhDoc.title}`, `## ${enDoc.title}`, '## References']);
    const zh = section(md, `## ${zhDoc.title}`);
    expect(zh.trim().split('\n')[0]).toBe('王禹澔. 中国特色对口支援机制：成就、经验与价值[J]. 管理世界, 2022.');
    // quotes in document order
    expect(zh.indexOf(annZh2.exact)).toBeLessThan(zh.indexOf(annZh1.exact));
    const en = section(md, `## ${enDoc.title}`);
    expect(en).toContain(`> ${annEn2.exact}`);
    expect(en).toContain(`> ${annOrphan.exact}`);
    expect(count(md, `> ${annEn1.exact}`)).toBe(1);
  });

  it('cites everything in one style when asked', () => {
    const apa = exportMarkdown(input, { groupBy: 'paper', style: 'apa' });
    expect(apa).toContain('— (王禹澔, 2022), § 三、对口支援的经验');
    expect(apa).toContain('## References\n');
    const gbt = exportMarkdown(input, { style: 'gbt7714', lang: 'zh' });
    expect(gbt).toContain('— (WANG, 2023), § 3.2.2 Key Nodes');
    expect(gbt).toContain('- WANG H. Changes in Our Government');
    expect(gbt).toContain('## 参考文献\n');
  });

  it('says so when there is nothing to export', () => {
    expect(exportMarkdown({ annotations: [], documents: [] })).toContain('No quotes');
  });
});

describe('exportMarkdown labels, pages and whole quotes', () => {
  it("writes its labels in one language: the papers' by default, or the one asked for", () => {
    const bilingual = /Note \/ 笔记|Tags \/ 标签|Quotes \/ 摘录|References \/ 参考文献/;
    const zhOnly = exportMarkdown({ annotations: [annZh1, annZh2], documents: [zhDoc] });
    expect(zhOnly).toMatch(/^# 摘录$/m);
    expect(zhOnly).toContain('**笔记：**');
    expect(zhOnly).toContain('*标签：* 援藏');
    expect(zhOnly).toMatch(/^## 参考文献$/m);
    expect(zhOnly).not.toMatch(/\bNote\b|\bTags\b|References/);
    // Mixed: most quotes are from English papers here, so English labels; `lang` overrides.
    expect(exportMarkdown(input)).toMatch(/^# Quotes$/m);
    const asked = exportMarkdown(input, { lang: 'zh' });
    expect(asked).toContain('**笔记：**');
    expect(asked).not.toMatch(/\*\*Note/);
    for (const md of [zhOnly, exportMarkdown(input), asked]) expect(md).not.toMatch(bilingual);
  });

  it('cites the page of a quote from a paper with pages, and nothing for one without', () => {
    const en = { ...annEn1, page: { first: 12, last: 12 } };
    const zh = { ...annZh1, page: { first: 12, last: 13 } };
    const md = exportMarkdown({ annotations: [en, zh, annZh2], documents: [zhDoc, enDoc] }, { groupBy: 'paper' });
    expect(md).toContain('— (Wang, 2023, p. 12), § 3.2.2 Key Nodes');
    expect(md).toContain('— （王禹澔，2022）: 12-13, § 三、对口支援的经验');
    expect(md).toContain('— （王禹澔，2022） · '); // annZh2: no page information, no page
    const apa = exportMarkdown({ annotations: [zh], documents: [zhDoc] }, { style: 'apa' });
    expect(apa).toContain('(王禹澔, 2022, pp. 12–13)');
  });

  it('quotes the whole quote across a page-break join, the stored text untouched', () => {
    const whole = zhText.slice(annZh1.start, annZh1.end);
    const joined = { ...annZh1, exact: `${whole.slice(0, 4)}\n\n公共管理\n\n${whole.slice(4)}`, quote: whole };
    const md = exportMarkdown({ annotations: [joined], documents: [zhDoc] });
    expect(md).toContain(`> ${whole}\n`);
    expect(md).not.toContain('公共管理');
  });
});

describe('escapeMarkdown', () => {
  it.each([
    ['对口支援是中国特色国家治理的重要方式', '对口支援是中国特色国家治理的重要方式'],
    ['a *b* _c_ `d`', 'a \\*b\\* \\_c\\_ \\`d\\`'],
    ['# not a heading', '\\# not a heading'],
    ['- not a list', '\\- not a list'],
    ['+ not a list', '\\+ not a list'],
    ['1. not a list', '1\\. not a list'],
    ['2) not a list', '2\\) not a list'],
    ['> not a quote', '\\> not a quote'],
    ['<b>html</b>', '\\<b\\>html\\</b\\>'],
    ['[a link](http://x)', '\\[a link\\](http://x)'],
    ['see [J] and [1]', 'see [J] and [1]'],
    ['&amp; stays literal, & alone too', '\\&amp; stays literal, & alone too'],
    ['    indented', 'indented'],
    ['a | b ~~c~~', 'a \\| b \\~\\~c\\~\\~'],
    ['back\\slash', 'back\\\\slash'],
    ['line1\r\nline2', 'line1\nline2'],
  ])('%j', (input, expected) => expect(escapeMarkdown(input)).toBe(expected));

  it('keeps the lines of a multi-line quote as `>` lines with hard breaks', () => {
    const a = { ...annEn2, exact: 'first line\nsecond *line*\n\nnew paragraph' };
    const md = exportMarkdown({ annotations: [a], documents: [enDoc] });
    expect(md).toContain('> first line\\\n> second \\*line\\*\n>\n> new paragraph\n');
  });
});
