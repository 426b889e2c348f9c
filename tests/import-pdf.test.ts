import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { UserInputError } from '../src/core/errors.js';
import type { LoadedDocument } from '../src/core/types.js';
import { importFile, pageAt } from '../src/pipeline/import/index.js';
import { loadDocument } from '../src/pipeline/load.js';
import { segment } from '../src/pipeline/segment.js';
import { matchedText } from './import-helpers.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/import/', import.meta.url));

describe('a two-column English PDF', () => {
  let doc: LoadedDocument;
  beforeAll(async () => {
    doc = await loadDocument(FIXTURES, 'two-column.pdf', {});
  });

  it('takes its title from the large full-width line and keeps headings as # lines', () => {
    expect(doc.id).toBe('two-column');
    expect(doc.title).toBe('Counterpart Support and Local Development');
    expect(doc.text).toMatch(/^# Counterpart Support and Local Development\n\n## 1\. Introduction\n/);
    expect(doc.text).toContain('\n## 2. Wenchuan\n');
    expect(doc.text).toContain('\n## 3. Conclusion\n');
  });

  it('drops the running header and the page numbers', async () => {
    expect(doc.text).not.toContain('Journal of Pairing');
    expect(doc.text.split('\n').filter((l) => /^\s*\d+\s*$/.test(l))).toEqual([]);
    expect(await matchedText(doc, 'journal')).toEqual([]);
  });

  it('makes the word hyphenated across a line end whole, and search finds it at its offsets', async () => {
    expect(doc.text).toContain('economic development of the receiving');
    expect(doc.text).not.toContain('devel-');
    expect((await matchedText(doc, 'development')).map((s) => s.toLowerCase())).toContain('development');
  });

  it('reads the left column before the right one, each column line after line', async () => {
    const left = doc.text.indexOf('Alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar');
    const left2 = doc.text.indexOf('Pairing programmes shaped');
    const right = doc.text.indexOf(
      'Column two begins here with the right column paragraph about provincial budgets, which must come after',
    );
    expect(left).toBeGreaterThan(0);
    expect(left2).toBeGreaterThan(left);
    expect(right).toBeGreaterThan(left2);
    // Phrases that run across the column's line ends are found as phrases.
    expect((await matchedText(doc, '"yankee zulu opens"')).length).toBeGreaterThan(0);
    // The last page has too little text to show its columns alone; the other pages' gutter applies.
    expect(doc.text).toContain('\nCounterpart support remains a distinctive instrument of Chinese governance today.\n');
  });

  it('keeps a paragraph running from the left column into the right one as one paragraph', async () => {
    expect(doc.text).toContain('the money that the counterpart cities raised paid for schools');
    const hits = (await matchedText(doc, '"counterpart cities"')).map((s) => s.toLowerCase());
    expect(hits.some((h) => h.startsWith('counterpart') && h.endsWith('cities'))).toBe(true);
  });

  it('separates paragraphs at indents and gaps', () => {
    const passages = segment(doc.id, doc.text, doc.lang);
    const starts = passages.map((p) => doc.text.slice(p.start, p.start + 24));
    expect(starts).toContain('Pairing programmes shape');
    expect(starts).toContain('A second paragraph of th');
    expect(starts).toContain('The third paragraph of p');
  });

  it('gives the page of every offset through the page map', () => {
    expect(doc.pages?.map(([, n]) => n)).toEqual([1, 2, 3]);
    const wenchuan = doc.text.indexOf('Wenchuan reconstruction');
    expect(pageAt(doc.pages, wenchuan)).toBe(2);
    expect(pageAt(doc.pages, doc.text.indexOf('Alpha bravo'))).toBe(1);
    expect(pageAt(doc.pages, doc.text.indexOf('Further research'))).toBe(3);
    expect(pageAt(doc.pages, doc.text.indexOf('## 2. Wenchuan'))).toBe(2);
  });

  it('converts the same bytes to the same text every time', async () => {
    const bytes = readFileSync(`${FIXTURES}two-column.pdf`);
    const again = await importFile(bytes, 'two-column.pdf');
    expect(again.text).toBe(doc.text);
    expect(again.pages).toEqual(doc.pages);
  });
});

describe('a Chinese PDF', () => {
  let doc: LoadedDocument;
  beforeAll(async () => {
    doc = await loadDocument(FIXTURES, 'chinese.pdf', {});
  });

  it('is Chinese, with its title and headings', () => {
    expect(doc.lang).toBe('zh');
    expect(doc.title).toBe('对口支援政策研究');
    expect(doc.text).toContain('\n## 一、引言\n');
    expect(doc.text).toContain('\n## 二、灾后重建\n');
  });

  it('has no spurious spaces or line breaks inside Chinese text', () => {
    expect(doc.text).toContain('中央政府在西部地区实施对口支援政策，东部省市与西部地区结成帮扶关系，形成了中国特色的区域协调发展机制。');
    expect(doc.text).toContain('汶川地震灾后恢复重建由十九个省市分别承担。');
    expect(doc.text).toContain('这一安排被称为“一省帮一重灾县”。');
    expect(doc.text).not.toMatch(/\p{Script=Han}[^\S\n]+\p{Script=Han}/u);
    // Within a paragraph, no line break either: each block is one line.
    expect(doc.text).not.toMatch(/\p{Script=Han}\n\p{Script=Han}/u);
  });

  it('is found by search at the right offsets, across the line break and the spaced glyphs', async () => {
    expect((await matchedText(doc, '对口支援')).filter((s) => s === '对口支援').length).toBeGreaterThanOrEqual(2);
    expect(await matchedText(doc, '恢复重建')).toContain('恢复重建');
    expect(await matchedText(doc, '竣工')).toEqual(['竣工']);
  });

  it('drops the running header and page numbers', () => {
    expect(doc.text).not.toContain('管理世界');
    expect(doc.text.split('\n').filter((l) => /^\s*\d+\s*$/.test(l))).toEqual([]);
  });

  it('puts a phrase of page 2 on page 2', () => {
    expect(pageAt(doc.pages, doc.text.indexOf('援建项目全部竣工'))).toBe(2);
    expect(pageAt(doc.pages, doc.text.indexOf('恢复重建'))).toBe(1);
  });
});

describe('PDFs that cannot be read', () => {
  it('refuses a PDF without a text layer, saying so and naming the file', async () => {
    const err = await loadDocument(FIXTURES, 'scanned.pdf', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserInputError);
    expect((err as UserInputError).code).toBe('no_text_layer');
    expect((err as Error).message).toContain('scanned.pdf');
    expect((err as Error).message).toContain('has no text layer (scanned?); duikou does not do OCR');
    expect((err as Error).message).toContain('该 PDF 无文字层');
  });

  it.each([
    ['not a PDF at all', Buffer.from('this is not a PDF file, just text with a .pdf name\n'.repeat(20))],
    ['a truncated PDF', readFileSync(`${FIXTURES}two-column.pdf`).subarray(0, 300)],
    ['an empty file', Buffer.alloc(0)],
  ])('refuses %s with a UserInputError naming the file', async (_what, bytes) => {
    const err = await importFile(bytes, 'broken paper.pdf').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserInputError);
    expect((err as Error).message).toContain('broken paper.pdf');
  });
});
