import { strFromU8, unzipSync } from 'fflate';
import { buffer } from 'node:stream/consumers';
import mammoth from 'mammoth';
import { describe, expect, it } from 'vitest';
import { docxInWorker, exportDocx } from '../src/export/docx.js';
import { exportMarkdown } from '../src/export/markdown.js';
import { annEn1, annEn2, annOrphan, annZh1, annZh2, input } from './export-fixtures.js';

const unescapeXml = (s: string) =>
  s.replace(/&(lt|gt|amp|quot|apos);/g, (_m, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[e]!);

/** Each paragraph of word/document.xml: its style and its text (line breaks as \n). */
async function paragraphs(buf: Buffer): Promise<{ style: string; text: string; xml: string }[]> {
  const files = unzipSync(new Uint8Array(buf));
  expect(Object.keys(files)).toContain('word/document.xml');
  const xml = strFromU8(files['word/document.xml']!);
  return [...xml.matchAll(/<w:p>([\s\S]*?)<\/w:p>|<w:p [^>]*>([\s\S]*?)<\/w:p>/g)].map((m) => {
    const p = m[1] ?? m[2] ?? '';
    const style = p.match(/<w:pStyle w:val="([^"]+)"/)?.[1] ?? '';
    const text = [...p.matchAll(/<w:br\/>|<w:t(?: [^>]*)?>([^<]*)<\/w:t>/g)]
      .map((t) => (t[0] === '<w:br/>' ? '\n' : unescapeXml(t[1] ?? '')))
      .join('');
    return { style, text, xml: p };
  });
}

describe('exportDocx', () => {
  it('writes headings per tag, the quotes in the Quote style, notes, citations and references', async () => {
    const ps = await paragraphs(await exportDocx(input));
    const headings = ps.filter((p) => /^Heading\d|^Title/.test(p.style)).map((p) => `${p.style}:${p.text}`);
    expect(headings).toEqual([
      'Title:Quotes',
      'Heading2:援藏',
      'Heading3:教育',
      'Heading2:path dependence',
      'Heading2:Untagged',
      'Heading2:References',
    ]);
    const texts = ps.map((p) => p.text);
    for (const a of [annZh1, annZh2, annEn1, annEn2, annOrphan]) expect(texts).toContain(a.exact);
    expect(texts).toContain(`Note: ${annZh1.note}`);
    expect(texts).toContain(`Note: ${annEn1.note}`); // its newline survives as a break
    expect(texts).toContain('— （王禹澔，2022）, § 三、对口支援的经验 · Tags: 援藏/教育');
    expect(texts).toContain('— (Wang, 2023), § 3.2.2 Key Nodes · Tags: path dependence; 援藏');
    expect(texts.some((t) => t.startsWith('⚠ Orphaned: '))).toBe(true);
    expect(texts.join('\n')).not.toMatch(/Note \/ 笔记|Tags \/ 标签|笔记|标签/);
    expect(texts).toContain('王禹澔. 中国特色对口支援机制：成就、经验与价值[J]. 管理世界, 2022.');
    expect(texts.some((t) => t.startsWith("Wang, H. (2023). Changes in Our Government's Counterpart Support Policy"))).toBe(true);
  });

  it('sets every quote, Chinese or English, in an indented Quote style without italics, Chinese in SimSun', async () => {
    const buf = await exportDocx(input);
    const ps = await paragraphs(buf);
    for (const a of [annZh1, annEn1]) {
      const quote = ps.find((p) => p.text === a.exact)!;
      expect(quote.style).toBe('Quote');
      expect(quote.xml).not.toMatch(/<w:i\/>|<w:i w:val="(?:true|1)"\/>/);
    }
    const styles = strFromU8(unzipSync(new Uint8Array(buf))['word/styles.xml']!);
    const quoteStyle = /<w:style [^>]*w:styleId="Quote"[^>]*>[\s\S]*?<\/w:style>/.exec(styles)?.[0] ?? '';
    expect(quoteStyle).toContain('w:eastAsia="SimSun"');
    expect(quoteStyle).toMatch(/<w:i w:val="(?:false|0)"\/>/);
    expect(quoteStyle).toMatch(/<w:ind [^>]*w:left="720"/);
  });

  it('writes Chinese labels when asked, or when most quotes are from Chinese papers, and the page in the citation', async () => {
    const zhQuotes = [
      { ...annZh1, page: { first: 12, last: 12 } },
      { ...annZh2, quote: `${annZh2.exact}` },
    ];
    const texts = (await paragraphs(await exportDocx({ ...input, annotations: zhQuotes }))).map((p) => p.text);
    expect(texts[0]).toBe('摘录');
    expect(texts).toContain(`笔记：${annZh1.note}`);
    expect(texts).toContain('— （王禹澔，2022）: 12, § 三、对口支援的经验 · 标签：援藏/教育');
    expect(texts.join('\n')).not.toMatch(/\bNote\b|\bTags\b/);
    const asked = (await paragraphs(await exportDocx(input, { lang: 'zh' }))).map((p) => p.text);
    expect(asked).toContain('参考文献');
  });

  it('groups by paper and survives characters XML cannot hold', async () => {
    const nasty = { ...annZh2, note: 'form\ffeed & <b>', exact: '对口支援\u0001是' };
    const ps = await paragraphs(await exportDocx({ ...input, annotations: [nasty, annEn2] }, { groupBy: 'paper', style: 'gbt7714' }));
    const texts = ps.map((p) => p.text);
    expect(texts).toContain('中国特色对口支援机制：成就、经验与价值');
    expect(texts).toContain('对口支援\uFFFD是');
    expect(texts).toContain('Note: form\uFFFDfeed & <b>');
    expect(texts).toContain('— (WANG, 2023), § 3.2.2 Key Nodes');
  });

  it('makes a document for an empty export', async () => {
    const ps = await paragraphs(await exportDocx({ annotations: [], documents: [] }));
    expect(ps.map((p) => p.text)).toContain('No quotes');
  });

  it('streams a document bigger than one batch that Word readers parse whole and in order', async () => {
    // 1,200 quotes make some 3,600 paragraphs: several batches joined into one document.xml.
    const many = Array.from({ length: 1200 }, (_, i) => ({
      ...annZh1,
      id: `a${i}`,
      exact: `第${i}条 quote 𠀀 ${i}`,
      note: i % 3 === 0 ? `note ${i} & <b>` : '',
      tags: [i % 2 ? '援藏' : 'path dependence'],
    }));
    const buf = await exportDocx({ ...input, annotations: many });
    const { value } = await mammoth.extractRawText({ buffer: buf });
    const lines = value.split('\n').filter(Boolean);
    const quotes = lines.filter((l) => l.startsWith('第'));
    // Same quotes in the same order as the Markdown export, which is built in one piece.
    const markdown = exportMarkdown({ ...input, annotations: many });
    const expected = markdown.split('\n').flatMap((l) => (l.startsWith('> 第') ? [l.slice(2).trimEnd()] : []));
    expect(expected).toHaveLength(many.length);
    expect(quotes).toEqual(expected);
    expect(lines.filter((l) => l === '笔记：note 3 & <b>')).toHaveLength(1); // all from the Chinese paper: Chinese labels
    expect(lines[0]).toBe('摘录');
    expect(lines.at(-1)).toBe('王禹澔. 中国特色对口支援机制：成就、经验与价值[J]. 管理世界, 2022.'); // the one paper quoted
  });

  it('makes the same document in a worker thread', async () => {
    const documentXml = (buf: Buffer) => strFromU8(unzipSync(new Uint8Array(buf))['word/document.xml']!);
    const inWorker = await buffer(docxInWorker(input, { style: 'apa' }));
    expect(documentXml(inWorker)).toBe(documentXml(await exportDocx(input, { style: 'apa' })));
  });
});
