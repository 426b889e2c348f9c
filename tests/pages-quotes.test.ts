/**
 * Pages of a paper (PDF page maps and form feeds), whole quotes across
 * page-break joins, and the export label catalogue.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Passage } from '../src/core/types.js';
import { EXPORT_LABELS, defaultExportLang, parseExportLang } from '../src/export/labels.js';
import { formFeedPages, pageMapOf, pageOfOffset, pageRange, pagesOf, passagePages } from '../src/pipeline/pages.js';
import { passagesAt, pieceJoins, quoteSpans, wholeQuote } from '../src/pipeline/quote.js';
import { segment } from '../src/pipeline/segment.js';
import { passageHtml } from '../src/http/passage-html.js';

describe('form-feed pages', () => {
  const text = '# 标题 Title\n\n第一页的段落，对口支援。\n\f\nPage two 𠀀 starts here.\n\f第三页：援藏 and more.\n';
  const p2 = text.indexOf('Page two');
  const p3 = text.indexOf('第三页');

  it('starts page n + 1 right after the n-th form feed', () => {
    expect(formFeedPages(text)).toEqual([
      [0, 1],
      [text.indexOf('\f') + 1, 2],
      [text.lastIndexOf('\f') + 1, 3],
    ]);
    expect(formFeedPages('no pages here')).toBeUndefined();
  });

  it('gives each offset, passage and range its page', () => {
    const doc = { text };
    const map = pageMapOf(doc)!;
    expect(pageOfOffset(map, text.indexOf('对口支援'))).toBe(1);
    expect(pageOfOffset(map, text.indexOf('𠀀'))).toBe(2);
    expect(pageOfOffset(map, text.indexOf('援藏'))).toBe(3);
    expect(pagesOf(doc, { start: p2, end: p2 + 'Page two'.length })).toEqual({ first: 2, last: 2 });
    // a range running from page 2 onto page 3
    expect(pagesOf(doc, { start: p2, end: p3 + 3 })).toEqual({ first: 2, last: 3 });
    // a range ending just before page 3 starts stays on page 2
    expect(pagesOf(doc, { start: p2, end: p3 })).toEqual({ first: 2, last: 2 });
    for (const p of segment('ff', text, 'zh')) {
      const pages = passagePages(doc, p)!;
      expect(pages.first).toBe(pageOfOffset(map, p.start));
      expect(pages.last).toBe(pageOfOffset(map, p.end - 1));
    }
  });

  it('says nothing for a paper without page information', () => {
    const doc = { text: '对口支援 without pages' };
    expect(pageMapOf(doc)).toBeUndefined();
    expect(pagesOf(doc, { start: 0, end: 4 })).toBeNull();
    expect(pageRange(undefined, 0, 4)).toBeNull();
  });

  it('prefers the PDF importer\u2019s page map', () => {
    const pdfText = 'Page one.\n\nPage two, continued.\n';
    const two = pdfText.indexOf('Page two');
    const doc = {
      text: pdfText,
      pages: [
        [0, 1],
        [two, 2],
      ] as Array<[number, number]>,
    };
    expect(pagesOf(doc, { start: two, end: pdfText.length - 1 })).toEqual({ first: 2, last: 2 });
    expect(pagesOf(doc, { start: 0, end: two + 4 })).toEqual({ first: 1, last: 2 });
  });
});

/** A passage whose pieces are the given stretches of `text` (found with indexOf). */
function joined(text: string, parts: string[]): Pick<Passage, 'pieces' | 'start' | 'end'> {
  const pieces = parts.map((s) => {
    const start = text.indexOf(s);
    if (start < 0) throw new Error(`${s} not in text`);
    return { start, end: start + s.length };
  });
  return { pieces, start: pieces[0]!.start, end: pieces.at(-1)!.end };
}

describe('whole quotes across page-break joins', () => {
  it('closes a Chinese join without a space and leaves the footnote out', () => {
    const a = '对口支援所承担的均为事关“国之大事”的政治';
    const b = '任务。后文';
    const text = `${a}\n\n¹ 脚注：本文得到资助。\n\n公共管理\n\n${b}\n`;
    const p = joined(text, [a, b]);
    const start = text.indexOf('事关');
    const end = text.indexOf('任务。') + '任务。'.length;
    expect(wholeQuote(text, [p], start, end)).toBe('事关“国之大事”的政治任务。');
    expect(quoteSpans([p], start, end)).toEqual([
      { start, end: p.pieces[0]!.end },
      { start: p.pieces[1]!.start, end },
    ]);
  });

  it('puts one space between Latin words and makes a hyphenated word whole', () => {
    const a = 'The policy of reciprocal';
    const b = 'support has also been expanding into devel-';
    const c = 'opment aid 𠀀 since 2010.';
    const text = `${a}\n\nRunning Header\n\n${b}\n\n12\n\n${c}`;
    const p = joined(text, [a, b, c]);
    expect(wholeQuote(text, [p], text.indexOf('reciprocal'), text.indexOf('2010') + 4)).toBe(
      'reciprocal support has also been expanding into development aid 𠀀 since 2010',
    );
    expect(pieceJoins(text, p.pieces)).toEqual(['none', 'space', 'hyphen']);
  });

  it('is the text slice when the quote crosses no join, or only reaches into the gap', () => {
    const a = '第一段的文字，';
    const b = '第二页的文字。';
    const text = `${a}\n\n脚注\n\n${b}`;
    const p = joined(text, [a, b]);
    const inA = text.indexOf('文字');
    expect(wholeQuote(text, [p], inA, inA + 2)).toBe('文字');
    // a quote of the footnote itself is the footnote
    const note = text.indexOf('脚注');
    expect(wholeQuote(text, [p], note, note + 2)).toBe('脚注');
    // an ordinary passage (one piece) changes nothing, even across paragraphs
    const plain = { pieces: [{ start: 0, end: text.length }], start: 0, end: text.length };
    expect(wholeQuote(text, [plain], 0, text.length)).toBe(text);
  });
});

describe('passagesAt', () => {
  it('finds exactly the passages a plain filter finds, overlapping passages included', () => {
    const passage = fc.record({ start: fc.nat(500), length: fc.integer({ min: 1, max: 200 }) });
    fc.assert(
      fc.property(fc.array(passage, { maxLength: 40 }), fc.nat(700), fc.integer({ min: 1, max: 300 }), (raw, start, length) => {
        const passages = raw.map((p) => ({ start: p.start, end: p.start + p.length })).sort((x, y) => x.start - y.start);
        const end = start + length;
        expect(passagesAt(passages, start, end)).toEqual(passages.filter((p) => p.start < end && p.end > start));
      }),
    );
  });
});

describe("the reader's rendering of a joined passage", () => {
  const a = 'The policy of reciprocal';
  const b = 'support was a long process of devel-';
  const c = 'opment aid 𠀀 since 2010.';
  const text = `${a}\n\nRunning Header\n\n${b}\n\n12\n\n${c}\n`;
  const p = { ...joined(text, [a, b, c]), id: 7, docId: 'd', ordinal: 0, kind: 'paragraph' as const, lang: 'en' as const, section: null };
  const doc = {
    id: 'd',
    title: 't',
    authors: [],
    year: null,
    venue: null,
    lang: 'en' as const,
    text,
    hash: '',
    file: 'd.txt',
    passages: [p],
  };

  it('joins the pieces without a mark: a CSS space between words, the hyphen of a split word hidden, page markers outside the text', () => {
    const pageTwo = text.indexOf('opment');
    const html = passageHtml(doc, p, [], {}, [[pageTwo, 2]]);
    expect(html).not.toMatch(/[⋯…]|Running Header/);
    const spans = [...html.matchAll(/<span class="([^"]+)" data-start="(\d+)" data-end="(\d+)">([^<]*)<\/span>/g)].map((m) => ({
      cls: m[1],
      text: m[4],
      start: Number(m[2]),
      end: Number(m[3]),
    }));
    expect(spans.map((x) => x.cls)).toEqual(['pc', 'pc join-space', 'pc join-hyphen', 'pc']);
    for (const x of spans) expect(x.text).toBe(text.slice(x.start, x.end)); // each span holds exactly its document text
    expect(spans[2]!.text).toBe('-');
    // the page marker stands between the hidden hyphen and the rest of the word
    expect(html.indexOf('data-page="2"')).toBeGreaterThan(html.indexOf('join-hyphen'));
    expect(html.indexOf('data-page="2"')).toBeLessThan(html.indexOf('opment'));
  });
});

describe('export labels', () => {
  it('gives every label in both languages, never empty, never both languages in one label', () => {
    const en = EXPORT_LABELS.en;
    const zh = EXPORT_LABELS.zh;
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    for (const [key, value] of Object.entries(en)) {
      expect(value.trim() || key === 'colon', key).toBeTruthy();
      expect(value, key).not.toMatch(/\p{Script=Han}/u);
    }
    for (const [key, value] of Object.entries(zh)) {
      expect(value.trim() || key === 'colon', key).toBeTruthy();
      // Chinese labels hold no English words (duikou's name aside)
      expect(value.replace('duikou', '').replace('{reason}', ''), key).not.toMatch(/[A-Za-z]{2,}/);
    }
    expect(en.unplacedBecause).toContain('{reason}');
    expect(zh.unplacedBecause).toContain('{reason}');
  });

  it('defaults to the language of most of the quotes\u2019 papers, and reads the option', () => {
    const langs: Record<string, 'zh' | 'en'> = { a: 'zh', b: 'en' };
    const of = (id: string) => langs[id];
    expect(defaultExportLang([{ docId: 'a' }, { docId: 'a' }, { docId: 'b' }], of)).toBe('zh');
    expect(defaultExportLang([{ docId: 'a' }, { docId: 'b' }, { docId: 'b' }], of)).toBe('en');
    expect(defaultExportLang([], of)).toBe('en');
    expect(parseExportLang('zh')).toBe('zh');
    expect(parseExportLang('auto')).toBeUndefined();
    expect(parseExportLang('')).toBeUndefined();
    expect(parseExportLang('fr')).toBeNull();
  });
});
