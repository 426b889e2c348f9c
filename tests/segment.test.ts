import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Span } from '../src/core/types.js';
import { decodeText } from '../src/pipeline/load.js';
import { joinPieces, readsAsCitation, type SegmentedPassage, segment } from '../src/pipeline/segment.js';
import { SAMPLE } from './helpers/sample.js';

const CORPUS = `${SAMPLE}/`;
const IDS = [
  'li-zhong-personalized-pairing',
  'wang-counterpart-support-policy',
  'wang-duikou-zhiyuan-mechanism',
  'zheng-wu-task-oriented-network',
  'zhou-partner-assistance-overview',
] as const;

function load(id: string): { text: string; passages: SegmentedPassage[] } {
  const text = decodeText(readFileSync(`${CORPUS}${id}.txt`));
  const lang = id === 'wang-duikou-zhiyuan-mechanism' ? 'zh' : 'en';
  return { text, passages: segment(id, text, lang) };
}

const docs = new Map(IDS.map((id) => [id, load(id)]));
function doc(id: (typeof IDS)[number]): { text: string; passages: SegmentedPassage[] } {
  const d = docs.get(id);
  if (!d) throw new Error(id);
  return d;
}

/** The passage one of whose pieces holds document offset `at`. */
function owner(passages: SegmentedPassage[], at: number): SegmentedPassage | undefined {
  return passages.find((p) => p.pieces.some((s) => s.start <= at && at < s.end));
}

/** Offset of `needle` in `text`, failing loudly when the corpus changed. */
function at(text: string, needle: string, from = 0): number {
  const i = text.indexOf(needle, from);
  if (i < 0) throw new Error(`not in text: ${needle}`);
  return i;
}

const logical = (text: string, p: SegmentedPassage): string => joinPieces(text, p.pieces).text;

/** Throws on the first broken invariant; plain throws keep the property test fast. */
function checkInvariants(text: string, passages: SegmentedPassage[]): void {
  const owned: Span[] = [];
  let prevStart = -1;
  passages.forEach((p, i) => {
    if (p.ordinal !== i) throw new Error(`ordinal ${p.ordinal} at ${i}`);
    if (p.start <= prevStart) throw new Error(`passage ${i} starts at ${p.start}, not after ${prevStart}`);
    prevStart = p.start;
    if (p.pieces.length === 0) throw new Error(`passage ${i} has no pieces`);
    if (p.pieces[0]?.start !== p.start || p.pieces[p.pieces.length - 1]?.end !== p.end)
      throw new Error(`passage ${i}: pieces do not span it`);
    const slice = text.slice(p.start, p.end);
    if (slice.length === 0 || /^\s|\s$/u.test(slice)) throw new Error(`passage ${i} has surrounding whitespace: ${JSON.stringify(slice)}`);
    let prevEnd = p.start;
    for (const s of p.pieces) {
      if (s.start < prevEnd || s.end <= s.start || s.end > p.end) throw new Error(`passage ${i}: bad piece ${s.start}-${s.end}`);
      if (/^\s|\s$/u.test(text.slice(s.start, s.end))) throw new Error(`passage ${i}: piece with surrounding whitespace`);
      prevEnd = s.end;
      owned.push(s);
    }
    if (p.kind === 'heading' && !(p.level && p.level >= 1)) throw new Error(`heading ${i} without level`);
  });
  owned.sort((a, b) => a.start - b.start);
  for (let k = 1; k < owned.length; k++) {
    if ((owned[k]?.start ?? 0) < (owned[k - 1]?.end ?? 0)) throw new Error('two passages own the same text');
  }
}

/** Every logical character maps back to the same document character; inserted spaces map to a piece end. */
function checkMap(text: string, p: SegmentedPassage): void {
  const j = joinPieces(text, p.pieces);
  const ends = new Set(p.pieces.map((s) => s.end));
  for (let i = 0; i < j.text.length; i++) {
    const d = j.map(i);
    if (text[d] !== j.text[i] && !(j.text[i] === ' ' && ends.has(d))) throw new Error(`map(${i}) = ${d} in passage ${p.ordinal}`);
  }
  if (j.map(j.text.length) !== p.end) throw new Error('map(length) is not the passage end');
}

describe('segment on the corpus', () => {
  it.each(IDS)('%s keeps every invariant and maps logical text back exactly', (id) => {
    const { text, passages } = doc(id);
    expect(passages.length).toBeGreaterThan(10);
    checkInvariants(text, passages);
    for (const p of passages) checkMap(text, p);
    expect(passages[0]?.kind).toBe('title');
    expect(passages.filter((p) => p.kind === 'title')).toHaveLength(1);
  });

  it('joins the English paragraph cut after "counterpart" by a page break', () => {
    const { text, passages } = doc('wang-counterpart-support-policy');
    const head = owner(passages, at(text, 'with Chinese characteristics, counterpart'));
    const tail = owner(passages, at(text, 'support has played a key role'));
    expect(head).toBeDefined();
    expect(tail).toBe(head);
    expect(head?.kind).toBe('paragraph');
    expect(head?.pieces.length).toBe(2);
    expect(logical(text, head as SegmentedPassage)).toContain('counterpart support has played a key role');
  });

  it('joins a Chinese paragraph across a footnote and the running header 公共管理', () => {
    const { text, passages } = doc('wang-duikou-zhiyuan-mechanism');
    const p = owner(passages, at(text, '1959年,仅江苏常州就有406个工'));
    expect(p).toBeDefined();
    expect(owner(passages, at(text, '厂、90个商业企业'))).toBe(p);
    expect(logical(text, p as SegmentedPassage)).toContain('仅江苏常州就有406个工厂、90个商业企业');
    const note = owner(passages, at(text, '*本文得到'));
    expect(note?.kind).toBe('footnote');
    expect(note).not.toBe(p);
    // The footnote and the header sit between the pieces, inside [start, end).
    expect((p as SegmentedPassage).start).toBeLessThan(note?.start ?? 0);
    expect((p as SegmentedPassage).end).toBeGreaterThan(note?.end ?? 0);
  });

  it('joins a Chinese paragraph across three tables and 公共管理', () => {
    const { text, passages } = doc('wang-duikou-zhiyuan-mechanism');
    const p = owner(passages, at(text, '为陕西脱贫提供了充裕'));
    expect(owner(passages, at(text, '资金。另一方面,对口支援为贫困地区定向输送'))).toBe(p);
    expect(logical(text, p as SegmentedPassage)).toContain('为陕西脱贫提供了充裕资金。另一方面');
    const table = owner(passages, at(text, '| 2002 | 272 | 481 |'));
    expect(table?.kind).toBe('table');
  });

  it('never makes 公共管理 a heading or part of a passage', () => {
    const { text, passages } = doc('wang-duikou-zhiyuan-mechanism');
    let count = 0;
    for (let i = text.indexOf('\n公共管理\n'); i >= 0; i = text.indexOf('\n公共管理\n', i + 1)) {
      count++;
      expect(owner(passages, i + 1)).toBeUndefined();
    }
    expect(count).toBe(4);
    expect(passages.some((p) => p.kind === 'heading' && text.slice(p.start, p.end) === '公共管理')).toBe(false);
    expect(passages.some((p) => p.section === '公共管理')).toBe(false);
  });

  it('continues an end note after the running title and header', () => {
    const { text, passages } = doc('wang-duikou-zhiyuan-mechanism');
    const p = owner(passages, at(text, '㉖2021年起'));
    expect(p?.kind).toBe('footnote');
    expect(logical(text, p as SegmentedPassage)).toContain('东西协作帮扶乡村振兴;地方内部结对支援工作');
  });

  it('finds Chinese headings with their levels and sections', () => {
    const { text, passages } = doc('wang-duikou-zhiyuan-mechanism');
    const heading = (s: string) => owner(passages, at(text, s));
    expect(heading('一、中国特色对口支援机制的发展历程')).toMatchObject({ kind: 'heading', level: 1 });
    expect(heading('(一)萌发阶段(1949~1978年)')).toMatchObject({ kind: 'heading', level: 2 });
    expect(heading('（三）深化阶段')).toMatchObject({ kind: 'heading', level: 2 });
    expect(heading('3. 对口支援明确了治理责任')).toMatchObject({ kind: 'heading', level: 3 });
    expect(heading('四、中国特色对口支援机制的历史经验')).toMatchObject({ kind: 'heading', level: 1 });
    expect(heading('参考文献')).toMatchObject({ kind: 'heading', level: 1 });
    expect(owner(passages, at(text, '在对口扶贫中,对口支援单位确立了具体帮扶责任'))).toMatchObject({
      kind: 'paragraph',
      section: '3. 对口支援明确了治理责任',
    });
    // The numbered sub-points "(1) 治理的激发机制。…" are paragraphs, not headings.
    expect(owner(passages, at(text, '(1) 治理的激发机制'))?.kind).toBe('paragraph');
    expect(owner(passages, at(text, '王禹澔'))?.kind).toBe('front-matter');
    expect(owner(passages, at(text, 'DOI:10.19744'))?.kind).toBe('front-matter');
    expect(passages.find((p) => p.kind === 'paragraph')?.section).toBeNull();
  });

  it('finds English headings with their levels and sections', () => {
    const w = doc('wang-counterpart-support-policy');
    expect(owner(w.passages, at(w.text, '2.3.1. Counterpart Support is Well Developed'))).toMatchObject({ kind: 'heading', level: 3 });
    expect(owner(w.passages, at(w.text, '2.3. Vertical Advancement Phase'))).toMatchObject({ kind: 'heading', level: 2 });
    expect(owner(w.passages, at(w.text, '3. THE EVOLUTIONARY LOGIC'))).toMatchObject({ kind: 'heading', level: 1 });
    expect(owner(w.passages, at(w.text, 'Since the 1990s, the counterpart support system has continued'))?.section).toBe(
      '2.3.1. Counterpart Support is Well Developed',
    );
    expect(owner(w.passages, at(w.text, 'Hanjing Wang'))?.kind).toBe('front-matter');
    const title = owner(w.passages, at(w.text, '-- An Analysis based on'));
    expect(title?.kind).toBe('title');
    expect(title?.section).toBeNull();

    const z = doc('zheng-wu-task-oriented-network');
    const h = owner(z.passages, at(z.text, 'INTERGOVERNMENTAL NETWORK\n', at(z.text, '4. A')));
    expect(h).toMatchObject({ kind: 'heading', level: 1, section: '4. A RECIPIENT CENTERED TASK ORIENTATED INTERGOVERNMENTAL NETWORK' });
    expect(z.text.slice(h?.start, h?.end).startsWith('4.')).toBe(true);
    expect(owner(z.passages, at(z.text, 'Since 1979, China proposed'))?.section).toBe(
      '4. A RECIPIENT CENTERED TASK ORIENTATED INTERGOVERNMENTAL NETWORK',
    );
    expect(owner(z.passages, at(z.text, '## 1. INTRODUCTION') + 3)).toMatchObject({
      kind: 'heading',
      level: 1,
      section: '1. INTRODUCTION',
    });
    const l = doc('li-zhong-personalized-pairing');
    expect(owner(l.passages, at(l.text, '3.1. What is pairing governance'))).toMatchObject({ kind: 'heading', level: 2 });
    expect(owner(l.passages, at(l.text, 'Keywords: Pairing governance'))?.kind).toBe('front-matter');
  });

  it('keeps the English paragraphs cut before "In November 1983" and "There are two | types" whole', () => {
    const z = doc('zheng-wu-task-oriented-network');
    const p = owner(z.passages, at(z.text, 'The first phase (1983-1991)'));
    expect(logical(z.text, p as SegmentedPassage)).toContain('toward Tibet. In November 1983');
    const q = owner(z.passages, at(z.text, 'Thirdly, the reconstructing dynamic'));
    expect(logical(z.text, q as SegmentedPassage)).toContain('There are two types of change');
    // A footnote ending in "(2011)" does not swallow the next paragraph.
    expect(owner(z.passages, at(z.text, 'Task orientated intergovernmental network witnesses'))?.kind).toBe('paragraph');
  });

  it('makes each table one passage', () => {
    const { text, passages } = doc('wang-duikou-zhiyuan-mechanism');
    const tables = passages.filter((p) => p.kind === 'table');
    expect(tables).toHaveLength(7);
    const t1 = owner(passages, at(text, '| 萌发探索 | 1958-3 |'));
    expect(t1?.kind).toBe('table');
    expect(owner(passages, at(text, '| 2021-4-21 |'))).toBe(t1);
    expect(owner(passages, at(text, '表1 中国主要对口支援实践'))?.kind).toBe('paragraph');
    const z = doc('zheng-wu-task-oriented-network');
    const tabTables = z.passages.filter((p) => p.kind === 'table');
    expect(tabTables).toHaveLength(2);
    expect(owner(z.passages, at(z.text, 'Kashgar\tTianjin'))).toBe(tabTables[1]);
  });

  it('makes each reference entry its own passage', () => {
    const counts: Record<string, number> = {
      'li-zhong-personalized-pairing': 23,
      'wang-counterpart-support-policy': 18,
      'wang-duikou-zhiyuan-mechanism': 35,
      'zheng-wu-task-oriented-network': 31,
    };
    for (const [id, n] of Object.entries(counts)) {
      const { text, passages } = doc(id as (typeof IDS)[number]);
      const refs = passages.filter((p) => p.kind === 'reference');
      expect(refs, id).toHaveLength(n);
      for (const r of refs) expect(text.slice(r.start, r.end)).toMatch(/^(?:\[\s?\d+\]|\(\d+\))/);
    }
    const { text, passages } = doc('wang-duikou-zhiyuan-mechanism');
    const nurkse = owner(passages, at(text, '(35)Nurkse'));
    expect(nurkse).toMatchObject({ kind: 'reference', lang: 'en', section: '参考文献' });
  });

  it.each([
    ['⑧习近平:《在全国脱贫攻坚总结表彰大会上的讲话》,2021年2月25日。', true],
    ['⑬⑭⑮⑯⑰中国扶贫开发年鉴编辑部:《中国扶贫开发年鉴2020》,知识产权出版社,2020年。', true],
    ['⑤参见《伍精华在全国经济技术协作和对口支援会议上的讲话》,来自《国家民族政策文件选编(1979-1984)》,中央民族学院出版社,1988年。', true],
    ['<sup>2</sup> 人民日报:《各行各业都来支援农业》,1960年4月13日。', true],
    // A footnote that says something, even one naming a document, is not a bare citation.
    [
      '㉖2021年起,财政专项扶贫资金调整为衔接推进乡村振兴补助资金;依据2021年中央出台的《关于坚持做好中央单位定点帮扶工作的指导意见》,中央单位继续定点帮扶。',
      false,
    ],
    ['⑥这次对口支援会议对于中国对口支援实践具有里程碑意义,此后东西部对口支援与扶贫协作会议多次在银川召开。', false],
    ['㉓习近平:《在庆祝中国共产党成立100周年大会上的讲话》', false],
    ['<sup>1</sup> The Development and Reform Commission of the Zhejiang Province government, 2015.', false],
  ])('readsAsCitation(%s) is %s', (text, expected) => {
    expect(readsAsCitation(text)).toBe(expected);
  });

  it('marks footnotes as footnotes', () => {
    const z = doc('zheng-wu-task-oriented-network');
    expect(owner(z.passages, at(z.text, '\\* Supported by National'))?.kind).toBe('footnote');
    expect(owner(z.passages, at(z.text, '<sup>1</sup> The Development'))?.kind).toBe('footnote');
    const w = doc('wang-duikou-zhiyuan-mechanism');
    expect(owner(w.passages, at(w.text, '③山西日报社论'))?.kind).toBe('footnote');
  });

  it('splits a bullet list that starts under a paragraph line', () => {
    const { text, passages } = doc('zhou-partner-assistance-overview');
    expect(owner(passages, at(text, 'The Law on Regional Autonomy'))?.kind).toBe('paragraph');
    const item = owner(passages, at(text, '4. Through the PAPs'));
    expect(item?.kind).toBe('list-item');
    expect(item?.start).toBe(at(text, '4. Through the PAPs'));
    expect(passages.filter((p) => p.kind === 'list-item')).toHaveLength(10);
  });
});

describe('joinPieces', () => {
  it('drops a line-end hyphen between word halves, adds a space between Latin pieces and nothing next to CJK', () => {
    const text = 'The devel-\n\n12\n\nopment of\n\nFOOT\n\nthe 中国\n\n特色 way';
    const pieces = [
      { start: 0, end: at(text, '\n\n12') },
      { start: at(text, 'opment'), end: at(text, '\n\nFOOT') },
      { start: at(text, 'the 中国'), end: at(text, '\n\n特色') },
      { start: at(text, '特色'), end: text.length },
    ];
    const j = joinPieces(text, pieces);
    expect(j.text).toBe('The development of the 中国特色 way');
    for (let i = 0; i < j.text.length; i++) {
      if (i === j.text.indexOf(' the')) expect(j.map(i)).toBe(pieces[1]?.end);
      else expect(text[j.map(i)]).toBe(j.text[i]);
    }
    expect(j.map(j.text.indexOf('opment'))).toBe(at(text, 'opment'));
    expect(j.map(j.text.length)).toBe(text.length);
  });

  it("maps every index of random pieces as the table of each character's offset did", () => {
    // The oracle: a table of every character's document offset, built as joinPieces built it before
    // it kept one entry per stretch. What stands between two pieces (a dropped hyphen, nothing, a
    // space) is read from the length of those two pieces joined.
    const tableOf = (text: string, pieces: Span[]): number[] => {
      const table: number[] = [];
      for (const [k, p] of pieces.entries()) {
        const next = pieces[k + 1];
        const len = (q: Span): number => q.end - q.start;
        const between = next ? joinPieces(text, [p, next]).text.length - len(p) - len(next) : 0;
        for (let i = p.start; i < p.end + Math.min(0, between); i++) table.push(i);
        if (between === 1) table.push(p.end);
      }
      return table;
    };
    const alphabet = ['a', 'b', 'Z', '-', ' ', '中', '国', '𠀀', '“', '\n'];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(), { minLength: 2, maxLength: 10 }),
        (chars, cuts) => {
          const text = chars.join('');
          // Ascending, non-overlapping, non-empty pieces, cut between characters (never inside a surrogate pair).
          const at = [0];
          for (const c of chars) at.push(at[at.length - 1]! + c.length);
          const bounds = [...new Set(cuts.map((c) => at[c % at.length]!))].sort((x, y) => x - y);
          const pieces: Span[] = [];
          for (let k = 0; k + 1 < bounds.length; k += 2) pieces.push({ start: bounds[k]!, end: bounds[k + 1]! });
          fc.pre(pieces.length > 0);
          const j = joinPieces(text, pieces);
          const table = tableOf(text, pieces);
          expect(table, JSON.stringify([text, pieces, j.text])).toHaveLength(j.text.length);
          const tail = pieces[pieces.length - 1]!.end;
          for (let i = -1; i <= j.text.length + 1; i++)
            expect(j.map(i), `${JSON.stringify([text, pieces])} at ${i}`).toBe(table[i] ?? tail);
          // Every character taken from the document maps back to itself.
          for (let i = 0; i < j.text.length; i++) if (!pieces.some((p) => p.end === table[i])) expect(text[table[i]!]).toBe(j.text[i]);
          // Read from a stretch of the text that holds the pieces (as a persisted paper's passage is): the same text and offsets.
          const from = pieces[0]!.start - (cuts[0]! % (pieces[0]!.start + 1));
          const to = tail + (cuts[1]! % (text.length - tail + 1));
          const w = joinPieces({ text: text.slice(from, to), offset: from }, pieces);
          expect(w.text).toBe(j.text);
          for (let i = -1; i <= j.text.length + 1; i++) expect(w.map(i)).toBe(j.map(i));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('puts a space after an English curly quote', () => {
    const text = 'he said “yes”\n\nand left';
    const j = joinPieces(text, [
      { start: 0, end: at(text, '\n') },
      { start: at(text, 'and'), end: text.length },
    ]);
    expect(j.text).toBe('he said “yes” and left');
  });

  it('keeps a hyphen that is not a word break', () => {
    const text = 'state-\n\nOwned';
    const j = joinPieces(text, [
      { start: 0, end: at(text, '\n') },
      { start: at(text, 'Owned'), end: text.length },
    ]);
    expect(j.text).toBe('state- Owned');
  });

  it('lets segment join a word hyphenated across a page break with a footnote in it', () => {
    const text =
      'A Title\n\n1. Introduction\n\nThe first paragraph talks about the long-term devel-\n\n¹ A footnote in the break.\n\nopment of the region.\n';
    const ps = segment('t', text, 'en');
    checkInvariants(text, ps);
    const p = owner(ps, at(text, 'The first paragraph'));
    expect(p?.pieces).toHaveLength(2);
    expect(logical(text, p as SegmentedPassage)).toBe('The first paragraph talks about the long-term development of the region.');
    expect(owner(ps, at(text, '¹ A footnote'))?.kind).toBe('footnote');
    expect(p?.section).toBe('1. Introduction');
  });

  it('keeps offsets right with characters outside the BMP', () => {
    const text = 'Title 𠀀\n\n一、第一部分\n\n𠀀𠀁😀是一个段落，没有结束的\n\n公共管理\n\n公共管理\n\n句子在这里结束。\n\n公共管理';
    const ps = segment('t', text, 'zh');
    checkInvariants(text, ps);
    const p = owner(ps, at(text, '𠀀𠀁😀'));
    expect(p?.start).toBe(at(text, '𠀀𠀁😀'));
    expect(logical(text, p as SegmentedPassage)).toBe('𠀀𠀁😀是一个段落，没有结束的句子在这里结束。');
    for (const q of ps) checkMap(text, q);
  });
});

describe('segment on random text', () => {
  const fragment = fc.oneof(
    fc.constantFrom(
      '公共管理',
      '1. Introduction',
      '(一)萌发阶段',
      '一、总论',
      '| a | b |',
      '|---|---|',
      'x\ty\tz',
      '- item',
      '* item',
      '*本文得到资助',
      '<sup>1</sup> note',
      '①注释',
      '¹ aff',
      '## Heading',
      '---',
      'REFERENCES',
      '参考文献',
      '[1] Ref.',
      '(2)作者',
      'devel-',
      'opment',
      '𠀀𠂁',
      '😀',
      'Table 1 x',
      '资料来源:x',
      '42',
      '  ',
      '\u00a0',
      '\u3000',
      'Keywords: a',
      'ok.',
      '。',
      'a@b.cn',
    ),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.string({ unit: 'grapheme', maxLength: 60 }),
  );
  const separator = fc.constantFrom('\n', '\n\n', ' ', '', '\n \n', '\r');
  const doc = fc.array(fc.tuple(fragment, separator), { maxLength: 60 }).map((parts) =>
    parts
      .map(([f, s]) => f + s)
      .join('')
      .replace(/\r\n/g, '\n'),
  );

  it('never throws and always keeps the invariants', () => {
    fc.assert(
      fc.property(doc, fc.constantFrom<'zh' | 'en'>('zh', 'en'), (text, lang) => {
        const ps = segment('r', text, lang);
        checkInvariants(text, ps);
        for (const p of ps) {
          checkMap(text, p);
          if (p.lang !== 'zh' && p.lang !== 'en') throw new Error('bad lang');
        }
      }),
      { numRuns: 400 },
    );
  });
});
