import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserInputError } from '../src/core/errors.js';
import { PASSAGE_KINDS } from '../src/core/types.js';
import { formatQuery, MAX_QUERY_ITEMS, MAX_QUERY_LENGTH, type ParsedQuery, parseQuery, type QueryItem } from '../src/pipeline/query.js';

const t = (text: string): QueryItem => ({ kind: 'term', text });
const p = (text: string): QueryItem => ({ kind: 'phrase', text });

/** A parsed query with empty filters unless given. */
function q(clauses: QueryItem[][], exclude: QueryItem[] = [], filters: Partial<ParsedQuery['filters']> = {}): ParsedQuery {
  return { clauses, exclude, filters: { docs: [], tags: [], notes: [], ...filters } };
}

/** A short test name for a possibly long input. */
function label(input: string): string {
  const shown = JSON.stringify(input);
  return shown.length > 60 ? `${shown.slice(0, 50)}… (${input.length} units)` : shown;
}

/** Runs `fn` and returns the UserInputError code it threw, or fails. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserInputError) return e.code;
    throw e;
  }
  throw new Error('expected a UserInputError');
}

describe('parseQuery: accepted queries', () => {
  const rows: [string, ParsedQuery][] = [
    // AND of terms, both scripts; a Chinese run stays one term.
    ['对口支援 西藏', q([[t('对口支援')], [t('西藏')]])],
    ['counterpart support', q([[t('counterpart')], [t('support')]])],
    ['对口支援西藏', q([[t('对口支援西藏')]])],
    ['  对口支援\u3000西藏\t', q([[t('对口支援')], [t('西藏')]])],
    // Phrases in every quote style; whitespace inside collapsed and trimmed.
    ['"key node"', q([[p('key node')]])],
    ['"path dependence"', q([[p('path dependence')]])],
    ['"对口 支援"', q([[p('对口 支援')]])],
    ['“对口支援” 西藏', q([[p('对口支援')], [t('西藏')]])],
    ['「援藏」', q([[p('援藏')]])],
    ['『援疆』', q([[p('援疆')]])],
    ['＂key node＂', q([[p('key node')]])],
    ['“key node“', q([[p('key node')]])],
    ['"  key \t  node  "', q([[p('key node')]])],
    ['"他说「援藏」"', q([[p('他说「援藏」')]])],
    ['a"b c"d', q([[t('a')], [p('b c')], [t('d')]])],
    ['"" x', q([[t('x')]])],
    // Unbalanced quote runs to the end.
    ['"key node', q([[p('key node')]])],
    ['西藏 “对口 支援', q([[t('西藏')], [p('对口 支援')]])],
    // OR binds tighter than AND.
    ['援藏 OR 援疆', q([[t('援藏'), t('援疆')]])],
    ['a b OR c d', q([[t('a')], [t('b'), t('c')], [t('d')]])],
    ['a OR b OR c', q([[t('a'), t('b'), t('c')]])],
    ['援藏|援疆', q([[t('援藏'), t('援疆')]])],
    ['援藏 ｜ 援疆', q([[t('援藏'), t('援疆')]])],
    ['"key node" OR 关键节点', q([[p('key node'), t('关键节点')]])],
    ['a or b', q([[t('a')], [t('or')], [t('b')]])],
    // Dangling and doubled OR.
    ['OR a', q([[t('a')]])],
    ['a OR', q([[t('a')]])],
    ['| a |', q([[t('a')]])],
    ['a OR OR b', q([[t('a'), t('b')]])],
    ['a OR -b c', q([[t('a')], [t('c')]], [t('b')])],
    ['a OR lang:zh b', q([[t('a')], [t('b')]], [], { lang: 'zh' })],
    ['a -b OR c', q([[t('a')], [t('c')]], [t('b')])],
    ['a tag:x OR b', q([[t('a')], [t('b')]], [], { tags: ['x'] })],
    // Exclusion.
    ['counterpart support -Tibet', q([[t('counterpart')], [t('support')]], [t('Tibet')])],
    ['对口支援 -"西藏 自治区"', q([[t('对口支援')]], [p('西藏 自治区')])],
    ['对口支援 －西藏', q([[t('对口支援')]], [t('西藏')])],
    ['a --b', q([[t('a')]], [t('b')])],
    ['a - b', q([[t('a')], [t('b')]])],
    ['a -OR', q([[t('a')]], [t('OR')])],
    // A minus inside a word is part of it.
    ['inter-provincial', q([[t('inter-provincial')]])],
    ['2008-2011 援藏', q([[t('2008-2011')], [t('援藏')]])],
    ['a- b', q([[t('a-')], [t('b')]])],
    // Filters.
    ['lang:zh 对口支援', q([[t('对口支援')]], [], { lang: 'zh' })],
    ['LANG:EN counterpart', q([[t('counterpart')]], [], { lang: 'en' })],
    ['lang：zh 对口支援', q([[t('对口支援')]], [], { lang: 'zh' })],
    ['ｌａｎｇ：ｚｈ x', q([[t('x')]], [], { lang: 'zh' })],
    ['lang:"en" x', q([[t('x')]], [], { lang: 'en' })],
    ['lang:zh lang:zh x', q([[t('x')]], [], { lang: 'zh' })],
    ['lang:zh', q([], [], { lang: 'zh' })],
    [
      'doc:wang-counterpart-support-policy "path dependence"',
      q([[p('path dependence')]], [], { docs: ['wang-counterpart-support-policy'] }),
    ],
    ['doc:a Doc:b doc:a x', q([[t('x')]], [], { docs: ['a', 'b'] })],
    ['tag:援藏/教育', q([], [], { tags: ['援藏/教育'] })],
    ['tag:"援藏/教育"', q([], [], { tags: ['援藏/教育'] })],
    ['tag：「援藏 教育」', q([], [], { tags: ['援藏 教育'] })],
    ['tag:援藏', q([], [], { tags: ['援藏'] })],
    ['note:"follow up"', q([], [], { notes: ['follow up'] })],
    ['note:check 西藏', q([[t('西藏')]], [], { notes: ['check'] })],
    ['NOTE:“再 核对”', q([], [], { notes: ['再 核对'] })],
    ['tag: x', q([[t('x')]])],
    ['doc:a:b x', q([[t('x')]], [], { docs: ['a:b'] })],
    ['-foo tag:x', q([], [t('foo')], { tags: ['x'] })],
    // kind: a passage kind; several mean any of them; case and full width folded; empty while typing.
    ['对口支援 kind:paragraph', q([[t('对口支援')]], [], { kinds: ['paragraph'] })],
    ['kind:reference kind:footnote 援藏', q([[t('援藏')]], [], { kinds: ['reference', 'footnote'] })],
    ['KIND:List-Item x', q([[t('x')]], [], { kinds: ['list-item'] })],
    ['ｋｉｎｄ：ｈｅａｄｉｎｇ x', q([[t('x')]], [], { kinds: ['heading'] })],
    ['kind:table kind:table x', q([[t('x')]], [], { kinds: ['table'] })],
    ['kind:"front-matter" x', q([[t('x')]], [], { kinds: ['front-matter'] })],
    ['kind:title', q([], [], { kinds: ['title'] })],
    ['kind: x', q([[t('x')]])],
    // Unknown keys are ordinary words.
    ['http://x 10:30', q([[t('http://x')], [t('10:30')]])],
    ['language:zh', q([[t('language:zh')]])],
    [':zh', q([[t(':zh')]])],
    // Control characters act as spaces; lone surrogates are dropped; emoji stay.
    ['a\u0000b\u0085c\u007fd', q([[t('a')], [t('b')], [t('c')], [t('d')]])],
    ['a\ud800b \udc00', q([[t('a')], [t('b')]])],
    ['援藏😀 👩‍🔬', q([[t('援藏😀')], [t('👩‍🔬')]])],
  ];

  it.each(rows)('%j', (input, expected) => {
    expect(parseQuery(input)).toStrictEqual(expected);
  });

  it('accepts exactly the limits', () => {
    const words = Array.from({ length: MAX_QUERY_ITEMS }, (_, i) => `w${i}`).join(' ');
    expect(parseQuery(words).clauses).toHaveLength(MAX_QUERY_ITEMS);
    expect(parseQuery('x'.repeat(MAX_QUERY_LENGTH)).clauses).toEqual([[t('x'.repeat(MAX_QUERY_LENGTH))]]);
  });
});

describe('parseQuery: rejected queries', () => {
  const rows: [string, string][] = [
    ['', 'empty_query'],
    ['   \u3000\t\n', 'empty_query'],
    ['-foo', 'empty_query'],
    ['-foo -"a b"', 'empty_query'],
    ['OR | -', 'empty_query'],
    ['""', 'empty_query'],
    ['\u0000\ud800', 'empty_query'],
    ['tag: doc:', 'empty_query'],
    ['lang:fr 对口支援', 'bad_filter'],
    ['lang: x', 'bad_filter'],
    ['lang:zh-CN x', 'bad_filter'],
    ['lang:zh lang:en x', 'bad_filter'],
    ['x -tag:援藏', 'bad_filter'],
    ['x -doc:a', 'bad_filter'],
    ['kind:paragraphs x', 'bad_filter'],
    ['kind:list x', 'bad_filter'],
    ['x -kind:heading', 'bad_filter'],
    ['x'.repeat(MAX_QUERY_LENGTH + 1), 'query_too_long'],
    ['a '.repeat(501), 'query_too_long'],
    [Array.from({ length: MAX_QUERY_ITEMS + 1 }, (_, i) => `w${i}`).join(' '), 'query_too_complex'],
    [`x ${Array.from({ length: MAX_QUERY_ITEMS }, (_, i) => `-w${i}`).join(' ')}`, 'query_too_complex'],
  ];

  it.each(rows.map(([input, code]) => [label(input), input, code]))('%s → %s', (_, input, code) => {
    expect(codeOf(() => parseQuery(input))).toBe(code);
  });

  it('gives the messages the UI shows', () => {
    const message = (input: string) => {
      try {
        parseQuery(input);
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    expect(message('x'.repeat(1001))).toBe('Query is too long (max 1000 characters) / 查询过长');
    expect(message('-foo')).toBe('Add at least one search term / 请输入检索词');
    expect(message('lang:fr x')).toMatch(/lang:zh.*lang:en/);
  });
});

describe('formatQuery', () => {
  const rows: [string, string][] = [
    ['对口支援   西藏', '对口支援 西藏'],
    ['a b ｜ c -d “e  f”', 'a b OR c "e f" -d'],
    ['"他说 "x', '"他说" x'],
    ['tag:"援藏 教育" LANG：zh note:x doc:d', 'lang:zh doc:d tag:"援藏 教育" note:x'],
    ['“say "hi"”', '“say "hi"”'],
    ['-“a "b” ”c', '”c -“a "b”'],
    ['“a "b”” 」', '“a "b” ” 」'],
    ['「a "b ”c」', '「a "b ”c」'],
  ];

  it.each(rows)('%j → %j', (input, expected) => {
    expect(formatQuery(parseQuery(input))).toBe(expected);
  });
});

/** Parses, returning the UserInputError instead of throwing it; any other error fails the test. */
function attempt(input: string): ParsedQuery | UserInputError {
  try {
    return parseQuery(input);
  } catch (e) {
    if (e instanceof UserInputError) return e;
    throw e;
  }
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Checks the invariants every successful parse must hold. */
function expectWellFormed(r: ParsedQuery): void {
  const items = [...r.clauses.flat(), ...r.exclude];
  expect(items.length).toBeLessThanOrEqual(MAX_QUERY_ITEMS);
  for (const clause of r.clauses) expect(clause.length).toBeGreaterThan(0);
  const texts = [...items.map((i) => i.text), ...r.filters.docs, ...r.filters.tags, ...r.filters.notes];
  for (const text of texts) {
    expect(text).not.toBe('');
    expect(text).not.toMatch(LONE_SURROGATE);
    expect(text).not.toMatch(CONTROL);
    expect(text).toBe(text.trim());
  }
  for (const item of items) if (item.kind === 'term') expect(item.text).not.toMatch(/\s/);
  expect(r.clauses.length > 0 || r.filters.lang !== undefined || texts.length > items.length).toBe(true);
}

/** Any UTF-16 code unit, so lone surrogates and controls turn up often. */
const codeUnits = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 120,
});

/** Pieces of the query language glued together, with or without spaces between them. */
const PIECES = [
  '对口支援',
  '西藏',
  '援藏',
  '援疆',
  'counterpart',
  'support',
  'key node',
  'inter-provincial',
  '2008-2011',
  'OR',
  'or',
  '|',
  '｜',
  '-',
  '－',
  '--',
  ':',
  '：',
  '"',
  '＂',
  '“',
  '”',
  '「',
  '」',
  '『',
  '』',
  'lang:',
  'LANG：',
  'lang:zh',
  'lang:en',
  'zh',
  'en',
  'doc:',
  'doc:wang-2010',
  'tag:',
  'tag:援藏/教育',
  'note:',
  'Note：',
  'http://x',
  '10:30',
  '😀',
  '👩‍🔬',
  '\ud800',
  '\udc00',
  '\u0000',
  '\u0085',
  '\u007f',
  '\t',
  '\n',
  '\u3000',
  '\u00a0',
];
const grammar = fc
  .array(fc.tuple(fc.constantFrom(...PIECES), fc.constantFrom('', ' ', ' ', '\u3000')), { maxLength: 24 })
  .map((parts) => parts.map(([piece, sep]) => piece + sep).join(''));

const anyInput = fc.oneof(fc.string({ unit: 'binary', maxLength: 120 }), codeUnits, grammar, grammar);

describe('parseQuery properties', () => {
  it('only ever throws UserInputError, and what it returns is well formed and deterministic', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        const r = attempt(input);
        if (r instanceof UserInputError) {
          expect(['empty_query', 'bad_filter', 'query_too_complex', 'query_too_long']).toContain(r.code);
          expect(attempt(input)).toMatchObject({ code: r.code });
        } else {
          expectWellFormed(r);
          expect(attempt(input)).toStrictEqual(r);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('reads its own formatting back: parse(format(parse(x))) equals parse(x)', () => {
    let parsed = 0;
    let runs = 0;
    fc.assert(
      fc.property(anyInput, (input) => {
        runs++;
        const r = attempt(input);
        if (r instanceof UserInputError) return;
        parsed++;
        const text = formatQuery(r);
        expect(parseQuery(text)).toStrictEqual(r);
        expect(formatQuery(parseQuery(text))).toBe(text);
      }),
      { numRuns: 2000 },
    );
    // Guard against a vacuous pass: most generated queries must actually parse.
    expect(parsed).toBeGreaterThan(runs / 4);
  });

  it('parses any query built from parts back into those parts', () => {
    const word = fc.constantFrom('对口支援', '西藏', 'counterpart', 'inter-provincial', 'or', 'http://x', '😀', '”c', 'a」');
    const phraseText = fc
      .array(fc.constantFrom('key', 'node', '对口', '支援', '"', '“', '」', 'OR', '-x', 'lang:zh'), {
        minLength: 1,
        maxLength: 4,
      })
      .map((ws) => ws.join(' '));
    const item = fc.oneof(
      word.map((text): QueryItem => ({ kind: 'term', text })),
      phraseText.map((text): QueryItem => ({ kind: 'phrase', text })),
    );
    const value = fc.oneof(word, phraseText);
    const query = fc
      .record({
        clauses: fc.array(fc.array(item, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 }),
        exclude: fc.array(fc.oneof(item, fc.constant<QueryItem>({ kind: 'term', text: 'OR' })), { maxLength: 3 }),
        lang: fc.constantFrom<('zh' | 'en' | undefined)[]>(undefined, 'zh', 'en'),
        docs: fc.uniqueArray(value, { maxLength: 2 }),
        tags: fc.uniqueArray(value, { maxLength: 2 }),
        notes: fc.uniqueArray(value, { maxLength: 2 }),
        kinds: fc.uniqueArray(fc.constantFrom(...PASSAGE_KINDS), { maxLength: 3 }),
      })
      .map(({ clauses, exclude, lang, docs, tags, notes, kinds }): ParsedQuery => ({
        clauses,
        exclude,
        filters: { ...(lang === undefined ? {} : { lang }), docs, tags, notes, ...(kinds.length === 0 ? {} : { kinds }) },
      }));
    fc.assert(
      fc.property(query, (original) => {
        expect(parseQuery(formatQuery(original))).toStrictEqual(original);
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects overlong input by its length in UTF-16 units, before anything else', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1001, maxLength: 1200 }), (input) => {
        const r = attempt(input);
        expect(r).toBeInstanceOf(UserInputError);
        expect((r as UserInputError).code).toBe('query_too_long');
      }),
      { numRuns: 50 },
    );
  });

  const adversarial: [string, string][] = [
    ['500 straight quotes', '"'.repeat(500)],
    ['1000 straight quotes', '"'.repeat(1000)],
    ['1000 curly openers', '“'.repeat(1000)],
    ['1000 corner openers', '「'.repeat(1000)],
    ['1000 minus signs', '-'.repeat(1000)],
    ['minus-quote pairs', '-"'.repeat(500)],
    ['minus-word pairs', '-a'.repeat(500)],
    ['OR chain', 'a OR '.repeat(200)],
    ['nested filter keys', 'lang:'.repeat(200)],
    ['tag: then quotes', `tag:${'"'.repeat(996)}`],
    ['bars', '|'.repeat(1000)],
    ['one long word', 'x'.repeat(1000)],
  ];
  it.each(adversarial)('returns promptly on %s', (_, input) => {
    expect(input.length).toBeLessThanOrEqual(1000);
    const r = attempt(input);
    if (!(r instanceof UserInputError)) expectWellFormed(r);
  });

  it('returns promptly on random 1,000-unit inputs made of operators', () => {
    const ops = fc.constantFrom('"', '-', '－', '“', '”', '「', '|', ' ', 'a', ':', 'tag:', 'OR');
    fc.assert(
      fc.property(fc.array(ops, { minLength: 300, maxLength: 500 }), (parts) => {
        const input = parts.join('').slice(0, 1000);
        const r = attempt(input);
        if (!(r instanceof UserInputError)) expectWellFormed(r);
      }),
      { numRuns: 200 },
    );
  });
});
