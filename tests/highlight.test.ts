import { describe, expect, it } from 'vitest';
import { type Mark, type Segment, kwic, markSegments } from '../src/pipeline/highlight.js';

/** Document offset range of `needle` in `text` at `base` (the `nth` occurrence, from 0). */
function at(text: string, needle: string, base = 0, nth = 0): { start: number; end: number } {
  let i = -1;
  for (let k = 0; k <= nth; k++) {
    i = text.indexOf(needle, i + 1);
    if (i < 0) throw new Error(`"${needle}" not in test text`);
  }
  return { start: base + i, end: base + i + needle.length };
}

/** Every invariant a segmentation must keep, whatever the marks. */
function checkCover(text: string, base: number, segs: Segment[]): void {
  expect(segs.map((s) => s.text).join('')).toBe(text);
  let pos = base;
  for (const s of segs) {
    expect(s.start).toBe(pos);
    expect(s.end - s.start).toBe(s.text.length);
    expect(s.text.length).toBeGreaterThan(0);
    expect(text.slice(s.start - base, s.end - base)).toBe(s.text);
    // never a lone surrogate at either end of a segment
    expect(/^[\udc00-\udfff]|[\ud800-\udbff]$/.test(s.text)).toBe(false);
    expect(s.marks.length > 0).toBe(s.mark !== undefined);
    if (s.mark) expect(s.mark.marks).toBe(s.marks);
    pos = s.end;
  }
  expect(pos).toBe(base + text.length);
}

/** Marked text of a segmentation, as "[…]" around each maximal marked run (for readable expectations). */
function bracket(segs: Segment[]): string {
  return segs.map((s) => (s.mark ? `[${s.text}]` : s.text)).join('');
}

interface Case {
  name: string;
  text: string;
  base: number;
  /** Marks as needles (with occurrence) or raw ranges computed from needles. */
  marks: (text: string, base: number) => Mark[];
  /** Expected rendering with [] around marked segments. */
  expected: string;
  /** Expected number of marks on each marked segment, in order. */
  depths?: number[];
}

const zh = '对口支援是中国特色国家治理的重要方式和机制。';
const en = 'Counterpart support is a key node of governance.';
const mixed = '对口支援(counterpart support)在西藏 Tibet 的实践';
const nonBmp = '援𠀀藏😀支援𠀀';

const cases: Case[] = [
  { name: 'no marks', text: zh, base: 0, marks: () => [], expected: zh },
  {
    name: 'Chinese match',
    text: zh,
    base: 100,
    marks: (t, b) => [at(t, '对口支援', b)],
    expected: '[对口支援]是中国特色国家治理的重要方式和机制。',
  },
  {
    name: 'English phrase',
    text: en,
    base: 7,
    marks: (t, b) => [at(t, 'key node', b)],
    expected: 'Counterpart support is a [key node] of governance.',
  },
  {
    name: 'mixed, two languages with via',
    text: mixed,
    base: 3,
    marks: (t, b) => [at(t, '对口支援', b), { ...at(t, 'counterpart support', b), via: '对口支援' }],
    expected: '[对口支援]([counterpart support])在西藏 Tibet 的实践',
  },
  {
    name: 'non-BMP characters inside and around the mark',
    text: nonBmp,
    base: 0,
    marks: (t, b) => [at(t, '𠀀藏😀', b)],
    expected: '援[𠀀藏😀]支援𠀀',
  },
  {
    name: 'mark boundary inside a surrogate pair widens to the code point',
    text: nonBmp,
    base: 50,
    marks: (t, b) => {
      const r = at(t, '😀', b);
      return [{ start: r.start + 1, end: r.end + 1 }];
    },
    expected: '援𠀀藏[😀支]援𠀀',
  },
  {
    name: 'mark ending inside the last surrogate pair',
    text: nonBmp,
    base: 0,
    marks: (t, b) => {
      const r = at(t, '𠀀', b, 1);
      return [{ start: r.start, end: r.start + 1 }];
    },
    expected: '援𠀀藏😀支援[𠀀]',
  },
  {
    name: 'nested marks',
    text: zh,
    base: 0,
    marks: (t, b) => [at(t, '中国特色国家治理', b), at(t, '国家', b)],
    expected: '对口支援是[中国特色][国家][治理]的重要方式和机制。',
    depths: [1, 2, 1],
  },
  {
    name: 'crossing marks',
    text: en,
    base: 0,
    marks: (t, b) => [at(t, 'support is a', b), at(t, 'a key node', b)],
    expected: 'Counterpart [support is ][a][ key node] of governance.',
    depths: [1, 2, 1],
  },
  {
    name: 'adjacent marks stay separate',
    text: zh,
    base: 0,
    marks: (t, b) => [at(t, '对口', b), at(t, '支援', b)],
    expected: '[对口][支援]是中国特色国家治理的重要方式和机制。',
    depths: [1, 1],
  },
  {
    name: 'marks at both edges',
    text: en,
    base: 20,
    marks: (t, b) => [at(t, 'Counterpart', b), at(t, 'governance.', b)],
    expected: '[Counterpart] support is a key node of [governance.]',
  },
  {
    name: 'mark covering the whole text',
    text: zh,
    base: 0,
    marks: (t, b) => [{ start: b, end: b + t.length }],
    expected: `[${zh}]`,
  },
  {
    name: 'mark partly before the text is clipped',
    text: zh,
    base: 10,
    marks: (t, b) => [{ start: b - 5, end: at(t, '对口', b).end }],
    expected: '[对口]支援是中国特色国家治理的重要方式和机制。',
  },
  {
    name: 'mark partly after the text is clipped',
    text: en,
    base: 10,
    marks: (t, b) => [{ start: at(t, 'governance', b).start, end: b + t.length + 99 }],
    expected: 'Counterpart support is a key node of [governance.]',
  },
  {
    name: 'marks wholly outside the text are ignored',
    text: zh,
    base: 10,
    marks: (t, b) => [
      { start: 0, end: b },
      { start: b + t.length, end: b + t.length + 4 },
    ],
    expected: zh,
  },
  {
    name: 'empty and reversed marks are ignored',
    text: zh,
    base: 0,
    marks: (t, b) => {
      const r = at(t, '中国', b);
      return [
        { start: r.start, end: r.start },
        { start: r.end, end: r.start },
      ];
    },
    expected: zh,
  },
  {
    name: 'the same range marked twice',
    text: mixed,
    base: 0,
    marks: (t, b) => [at(t, 'Tibet', b), { ...at(t, 'Tibet', b), via: '西藏' }],
    expected: '对口支援(counterpart support)在西藏 [Tibet] 的实践',
    depths: [2],
  },
];

describe('markSegments', () => {
  it.each(cases)('$name', ({ text, base, marks, expected, depths }) => {
    const segs = markSegments(text, base, marks(text, base));
    checkCover(text, base, segs);
    expect(bracket(segs)).toBe(expected);
    if (depths) expect(segs.filter((s) => s.mark).map((s) => s.mark!.marks.length)).toEqual(depths);
  });

  it('returns no segments for empty text', () => {
    expect(markSegments('', 5, [{ start: 5, end: 6 }])).toEqual([]);
  });

  it('carries via and className, outermost mark first', () => {
    const base = 1000;
    const outer = { ...at(mixed, 'counterpart support', base), via: '对口支援' };
    const inner = { ...at(mixed, 'support', base), className: 'note' };
    const segs = markSegments(mixed, base, [inner, outer]);
    checkCover(mixed, base, segs);
    const sup = segs.find((s) => s.text === 'support')!;
    expect(sup.start).toBe(inner.start);
    expect(sup.mark!.marks).toEqual([outer, inner]);
    expect(sup.mark!.via).toEqual(['对口支援']);
    expect(sup.mark!.classNames).toEqual(['note']);
    const cp = segs.find((s) => s.text === 'counterpart ')!;
    expect(cp.mark!.via).toEqual(['对口支援']);
    expect(cp.mark!.classNames).toEqual([]);
  });

  it('segment offsets slice the document when text is a slice of it', () => {
    const doc = `前言\n${zh}\n${en}\n${nonBmp}`;
    const piece = at(doc, en);
    const text = doc.slice(piece.start, piece.end);
    const m = at(doc, 'key node');
    const segs = markSegments(text, piece.start, [m]);
    checkCover(text, piece.start, segs);
    for (const s of segs) expect(doc.slice(s.start, s.end)).toBe(s.text);
    expect(segs.find((s) => s.mark)!.text).toBe('key node');
  });
});

describe('kwic', () => {
  const long = `${'前'.repeat(60)}对口支援${'后'.repeat(60)}`;
  const longEn = `${'word '.repeat(30)}key node${' more'.repeat(30)}`;

  it.each([
    { name: 'short Chinese, no cut', text: zh, needle: '国家治理', left: '对口支援是中国特色', right: '的重要方式和机制。' },
    { name: 'short English, no cut', text: en, needle: 'key node', left: 'Counterpart support is a ', right: ' of governance.' },
    { name: 'keyword at the start', text: zh, needle: '对口支援', left: '', right: '是中国特色国家治理的重要方式和机制。' },
    { name: 'keyword at the end', text: en, needle: 'governance.', left: 'Counterpart support is a key node of ', right: '' },
    { name: 'non-BMP context', text: nonBmp, needle: '藏', left: '援𠀀', right: '😀支援𠀀' },
  ])('$name', ({ text, needle, left, right }) => {
    const base = 42;
    const m = at(text, needle, base);
    const k = kwic(text, base, m);
    expect(k).toEqual({ left, keyword: needle, right, start: m.start, end: m.end });
  });

  it('cuts long Chinese context to width code points with ellipses', () => {
    const k = kwic(long, 0, at(long, '对口支援'), 10);
    expect(k.left).toBe(`…${'前'.repeat(10)}`);
    expect(k.keyword).toBe('对口支援');
    expect(k.right).toBe(`${'后'.repeat(10)}…`);
  });

  it('counts width in code points and never cuts a surrogate pair', () => {
    const text = `${'😀'.repeat(50)}支援${'𠀀'.repeat(50)}`;
    const k = kwic(text, 7, at(text, '支援', 7), 5);
    expect(k.left).toBe(`…${'😀'.repeat(5)}`);
    expect(k.right).toBe(`${'𠀀'.repeat(5)}…`);
    for (const s of [k.left, k.right]) expect(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s)).toBe(false);
  });

  it('cuts English context between words, about width long', () => {
    const width = 12;
    const k = kwic(longEn, 0, at(longEn, 'key node'), width);
    expect(k.left.startsWith('…')).toBe(true);
    expect(k.right.endsWith('…')).toBe(true);
    expect(k.left.slice(1)).toMatch(/^(word )+$/);
    expect(k.right.slice(0, -1)).toMatch(/^( more)+$/);
    for (const s of [k.left, k.right]) expect(Math.abs(Array.from(s).length - width)).toBeLessThanOrEqual(12);
  });

  it('shows line breaks as spaces', () => {
    const text = '上一段。\n\n对口支援\n是\r\n机制';
    const k = kwic(text, 0, at(text, '对口支援'));
    expect(k).toMatchObject({ left: '上一段。 ', keyword: '对口支援', right: ' 是 机制' });
  });

  it('clips a match partly outside the text and widens a split pair', () => {
    const base = 100;
    const k = kwic(nonBmp, base, { start: base - 3, end: at(nonBmp, '援', base).end });
    expect(k.keyword).toBe('援');
    expect(k.left).toBe('');
    const e = at(nonBmp, '😀', base);
    const k2 = kwic(nonBmp, base, { start: e.start + 1, end: e.end });
    expect(k2.keyword).toBe('😀');
    expect(k2.start).toBe(e.start);
  });
});
