import { loadLibrary } from '../src/library/library.js';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow, TextRun } from 'docx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedDocument } from '../src/core/types.js';
import { htmlToCanonical } from '../src/pipeline/import/index.js';
import { MAX_HTML_DEPTH } from '../src/pipeline/import/html.js';
import { listCorpusFiles, loadDocument } from '../src/pipeline/load.js';
import { segment } from '../src/pipeline/segment.js';
import { matchedText } from './import-helpers.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/import/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'duikou-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function makeDocx(): Promise<Buffer> {
  const cell = (t: string): TableCell => new TableCell({ children: [new Paragraph(t)] });
  const doc = new Document({
    creator: 'duikou tests',
    sections: [
      {
        children: [
          new Paragraph({ heading: HeadingLevel.TITLE, children: [new TextRun('Pairing Assistance in Practice')] }),
          new Paragraph('Li Lei, Han Meimei'),
          new Paragraph({ heading: HeadingLevel.HEADING_1, children: [new TextRun('1. Introduction')] }),
          new Paragraph({
            children: [
              new TextRun('Counterpart support '),
              new TextRun({ text: 'programmes', bold: true }),
              new TextRun(' began in 1979.'),
            ],
          }),
          new Paragraph({ heading: HeadingLevel.HEADING_2, children: [new TextRun('1.1 对口支援的起源')] }),
          new Paragraph('对口支援政策始于一九七九年，东部省市援助西部地区。'),
          new Paragraph({ text: 'Tibet and Qinghai', bullet: { level: 0 } }),
          new Paragraph({ text: 'Xinjiang', bullet: { level: 0 } }),
          new Table({
            rows: [
              new TableRow({ children: [cell('Province'), cell('Partner')] }),
              new TableRow({ children: [cell('Beijing'), cell('Lhasa')] }),
            ],
          }),
          new Paragraph('The table above lists partners.'),
        ],
      },
    ],
  });
  return Packer.toBuffer(doc);
}

describe('a DOCX paper', () => {
  let doc: LoadedDocument;
  beforeAll(async () => {
    writeFileSync(join(dir, 'pairing.docx'), await makeDocx());
    doc = await loadDocument(dir, 'pairing.docx', {});
  });

  it('keeps the title and headings as # lines, lists as - lines and tables as | rows', () => {
    expect(doc.title).toBe('Pairing Assistance in Practice');
    expect(doc.authors).toEqual(['Li Lei', 'Han Meimei']);
    expect(doc.text).toContain('\n# 1. Introduction\n');
    expect(doc.text).toContain('\n## 1.1 对口支援的起源\n');
    expect(doc.text).toContain('\n- Tibet and Qinghai\n- Xinjiang\n');
    expect(doc.text).toContain('\n| Province | Partner |\n| Beijing | Lhasa |\n');
    const kinds = segment(doc.id, doc.text, doc.lang).map((p) => [p.kind, doc.text.slice(p.start, p.end)]);
    expect(kinds).toContainEqual(['heading', '1. Introduction']);
    expect(kinds).toContainEqual(['list-item', 'Xinjiang']);
    expect(kinds.filter(([k]) => k === 'table')).toHaveLength(1);
  });

  it('is found by search at the right offsets in both languages', async () => {
    expect((await matchedText(doc, 'programmes')).map((s) => s.toLowerCase())).toContain('programmes');
    expect(await matchedText(doc, '对口支援')).toContain('对口支援');
    expect(await matchedText(doc, 'Lhasa')).toEqual(['Lhasa']);
  });

  it('converts the same file to the same text every time', async () => {
    const again = await loadDocument(dir, 'pairing.docx', {});
    expect(again.text).toBe(doc.text);
    expect(again.hash).toBe(doc.hash);
  });
});

describe('an HTML page', () => {
  let doc: LoadedDocument;
  beforeAll(async () => {
    doc = await loadDocument(FIXTURES, 'page.html', {});
  });

  it('drops scripts, styles, navigation and hidden elements', async () => {
    for (const gone of ['trackingNonsense', 'font-family', 'Navigation menu', 'injected script', 'Hidden paragraph', 'Site']) {
      expect(doc.text).not.toContain(gone);
    }
    expect(await matchedText(doc, 'navigation')).toEqual([]);
  });

  it('writes headings, paragraphs, line breaks, lists and tables in the layout the segmenter reads, entities decoded', () => {
    expect(doc.title).toBe('Counterpart Support & Pairing');
    expect(doc.text).toBe(
      `${[
        '# Counterpart Support & Pairing',
        'The policy of “pairing” assistance began in 1979 — R&D followed.',
        'A division of text',
        'with a line break inside.',
        '## 对口支援的历史',
        '对口支援政策始于一九七九年。',
        '- Tibet\n- Xinjiang\n  - Kashgar',
        '| Province | Partner |\n| Beijing | Lhasa |',
        'Footer note 2024',
      ].join('\n\n')}\n`,
    );
  });

  it('is found by search at the right offsets', async () => {
    expect(await matchedText(doc, '对口支援')).toEqual(['对口支援', '对口支援']);
    expect(await matchedText(doc, 'Kashgar')).toEqual(['Kashgar']);
    expect((await matchedText(doc, '"pairing assistance"')).map((s) => s.toLowerCase())).toContain('pairing” assistance');
  });

  it('takes the <title> as the first heading when the body has no <h1>, and decodes a GBK page', () => {
    expect(htmlToCanonical('<title>Paper &lt;One&gt;</title><p>Body</p>')).toBe('# Paper <One>\n\nBody\n');
    const gbk = Buffer.from([
      ...Buffer.from('<meta charset="gbk"><h1>'),
      0xb6,
      0xd4,
      0xbf,
      0xda, // 对口
      ...Buffer.from('</h1>'),
    ]);
    writeFileSync(join(dir, 'gbk.htm'), gbk);
    return loadDocument(dir, 'gbk.htm', {}).then((d) => expect(d.text).toBe('# 对口\n'));
  });

  // Nested far past what any page needs: read flat beyond MAX_HTML_DEPTH, as browsers do, with all its text in order.
  it.each([
    ['divisions', '<div>', '</div>', 20_000],
    ['inline spans and bold', '<span><b>', '</b></span>', 20_000],
    ['list items', '<ul><li>', '</li></ul>', 5_000],
    ['table cells', '<table><tr><td>', '</td></tr></table>', 5_000],
    ['just past the limit', '<div>', '</div>', MAX_HTML_DEPTH + 1],
  ])('a page of %s nested deeply is read, not refused', (_what, open, close, depth) => {
    const deep = '对口支援 deep down 𠀀 here';
    const html = `<h1>Deep page</h1><p>before</p>${open.repeat(depth)}${deep}${close.repeat(depth)}<p>after</p>`;
    const text = htmlToCanonical(html);
    expect(text.startsWith('# Deep page\n')).toBe(true);
    const at = [text.indexOf('before'), text.indexOf(deep), text.indexOf('after')];
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  // Text a browser shows though it stands where the markup has no place for it: kept, in order.
  it.each([
    ['text straight in a list', '<ul>loose 对口支援𠀀<li>item</li></ul>', '- loose 对口支援𠀀\n- item\n'],
    ['text after the items', '<ol><li>item</li>trailing 汶川</ol>', '- item\n- trailing 汶川\n'],
    ['text in a table outside the rows', '<table>援藏 before rows<tr><td>a</td><td>b</td></tr></table>', '援藏 before rows\n\n| a | b |\n'],
    ['a paragraph in a table', '<table><tr><td>a</td></tr><p>Between 𠀀</p><tr><td>b</td></tr></table>', '| a |\n\nBetween 𠀀\n\n| b |\n'],
    ['text in a row outside the cells', '<table><tr>Fujian<td>Nyingchi</td></tr></table>', '| Fujian | Nyingchi |\n'],
    ['column definitions and empty cells', '<table><colgroup><col></colgroup><tr><td></td><td>x</td></tr></table>', '|  | x |\n'],
  ])('keeps %s', (_what, html, text) => {
    expect(htmlToCanonical(html)).toBe(text);
  });

  it('keeps the structure of elements nested up to the limit', () => {
    const depth = MAX_HTML_DEPTH - 10;
    const html = `${'<div>'.repeat(depth)}<h2>Deep heading</h2><ul><li>one</li><li>two</li></ul>${'</div>'.repeat(depth)}`;
    expect(htmlToCanonical(html)).toBe('## Deep heading\n\n- one\n- two\n');
  });
});

describe('loading a folder of papers', () => {
  it('loads every readable file and reports each bad one by name, without stopping', async () => {
    const corpus = mkdtempSync(join(tmpdir(), 'duikou-report-'));
    try {
      copyFileSync(join(FIXTURES, 'two-column.pdf'), join(corpus, 'a-two-column.pdf'));
      copyFileSync(join(FIXTURES, 'page.html'), join(corpus, 'b-page.html'));
      copyFileSync(join(FIXTURES, 'scanned.pdf'), join(corpus, 'c-scanned.pdf'));
      writeFileSync(join(corpus, 'd-corrupt.pdf'), readFileSync(join(FIXTURES, 'chinese.pdf')).subarray(0, 400));
      writeFileSync(join(corpus, 'e-corrupt.docx'), Buffer.from('PK\u0003\u0004 not really a zip'));
      writeFileSync(join(corpus, 'f-paper.txt'), 'A Study of Pairing\n\nCounterpart support began in 1979.\n');
      writeFileSync(join(corpus, 'f-paper.md'), '# Same id\n');
      writeFileSync(join(corpus, '~$lock.docx'), 'x');
      expect(await listCorpusFiles(corpus)).toEqual([
        'a-two-column.pdf',
        'b-page.html',
        'c-scanned.pdf',
        'd-corrupt.pdf',
        'e-corrupt.docx',
        'f-paper.md',
        'f-paper.txt',
      ]);
      const report = await loadLibrary(corpus);
      expect(report.documents.map((d) => d.file)).toEqual(['a-two-column.pdf', 'b-page.html', 'f-paper.md']);
      expect(report.errors.map((e) => [e.file, e.code]).sort()).toEqual([
        ['c-scanned.pdf', 'no_text_layer'],
        ['d-corrupt.pdf', 'unreadable_file'],
        ['e-corrupt.docx', 'unreadable_file'],
        ['f-paper.txt', 'duplicate_id'],
      ]);
      for (const e of report.errors) expect(e.message).toContain(e.file);
      const docs = (await loadLibrary(corpus)).documents;
      expect(docs.map((d) => d.id)).toEqual(['a-two-column', 'b-page', 'f-paper']);
      expect(docs[0]?.pages).toEqual(report.documents[0]?.pages);
    } finally {
      rmSync(corpus, { recursive: true, force: true });
    }
  });
});
