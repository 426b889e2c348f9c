/**
 * The lab server's translation of a query into one tsquery (query text →
 * tsquery string), without a database: Chinese runs as their character
 * pairs, phrases with `<->`, OR, exclusions, glossary expansion, optional
 * stop words, quotes inside terms and terms stored as a hash. That the
 * tsquery never loses a passage is checked against the embedded engine on
 * a real server (tests/postgres-tsquery.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { analyze } from '../src/pipeline/analyze.js';
import { filterWhere, lexeme, planStrict, quoteLexeme } from '../src/backends/postgres/tsquery.js';
import { createGlossary } from '../src/pipeline/glossary.js';
import { normalizeText } from '../src/pipeline/normalize.js';
import { parseQuery } from '../src/pipeline/query.js';
import type { RankOptions } from '../src/pipeline/rank.js';

const glossary = createGlossary([
  { zh: '对口支援', en: 'counterpart support', source: 'curated' },
  { zh: '对口支援', en: 'pairing assistance', source: 'curated' },
  { zh: '援藏', en: 'aid to Tibet', source: 'curated' },
]);
const expansions = (text: string) => glossary.translationsOf(normalizeText(text)).map((t) => ({ text: t.term, via: t.term }));

const RUN = `'对口' & '口支' & '支援'`;
const LONG = `x${'한'.repeat(700)}`; // 2,101 bytes: PostgreSQL refuses a lexeme that long

/** Query, options, the tsquery, and the tsquery for passages whose positions are incomplete (null: the same). */
const CASES: [string, Pick<RankOptions, 'expand' | 'match'>, string | null, string | null][] = [
  // A Chinese run: its character pairs, so it is found across jieba's word boundaries too.
  ['对口支援', { expand: false }, RUN, null],
  ['2008年 汶川地震', { expand: false }, `'2008' & '汶川' & '川地' & '地震'`, null],
  ['𠀀𠀁 support', {}, `'𠀀𠀁' & 'support'`, null],
  // Glossary expansion: the translations OR-ed in; a translation's bag of words covers its phrase.
  ['对口支援', {}, `(${RUN}) | ('counterpart' & 'support') | ('pair' & 'assist')`, null],
  // Strict mode has no bags: the translations stay phrases, with a looser form for capped positions.
  [
    '对口支援',
    { match: 'strict' },
    `(${RUN}) | ('counterpart' <-> 'support') | ('pair' <-> 'assist')`,
    `(${RUN}) | ('counterpart' & 'support') | ('pair' & 'assist')`,
  ],
  ['援藏', { match: 'strict' }, `'援藏' | ('aid' <-> 'to' <-> 'tibet')`, `'援藏' | ('aid' & 'to' & 'tibet')`],
  // Words of a multi-word glossary entry each gain its translation.
  ['counterpart support', {}, `('counterpart' | (${RUN})) & ('support' | (${RUN}))`, null],
  ['counterpart support', { expand: false }, `'counterpart' & 'support'`, null],
  // Phrases: following positions; Chinese words typed apart too; a Chinese word then an English one.
  ['"key node"', {}, `'kei' <-> 'node'`, `'kei' & 'node'`],
  ['“对口 支援”', {}, `'对口' <-> '支援'`, `'对口' & '支援'`],
  ['"对口支援 policy"', {}, `'对口支援' <-> 'polici'`, `'对口支援' & 'polici'`],
  ['self-governing', {}, `('self' <-> 'govern') | 'selfgovern'`, `('self' & 'govern') | 'selfgovern'`],
  // OR.
  ['林芝 OR 拉萨', {}, `'林芝' | '拉萨'`, null],
  ['support | 援藏 -"counterpart support"', { expand: false }, `'support' | '援藏'`, null],
  // Exclusions where the lexeme decides; a longer run or a phrase is left to Node.
  ['counterpart -Tibet -"key node"', {}, `'counterpart' & !'tibet'`, null],
  ['counterpart -对口支援 -对口', {}, `'counterpart' & !'对口'`, null],
  ['林芝 OR 拉萨 -援藏', { expand: false }, `('林芝' | '拉萨') & !'援藏'`, null],
  // Mixed scripts: the Latin word and the Han part's pairs (a single character has none).
  ['GDP增长', {}, `'gdp' & '增长'`, null],
  // A stop word among other words is optional in the default mode, required in strict mode.
  ['assistance to Tibet', { expand: false }, `'assist' & 'tibet'`, null],
  ['assistance to Tibet', { expand: false, match: 'strict' }, `'assist' & 'to' & 'tibet'`, null],
  // A quote inside a term, and a term stored as a hash.
  ["O'Brien's report", {}, `'o''brien' & 'report'`, null],
  // A single character is found through any pair holding it: its clause is left to Node.
  ['援 counterpart', {}, `'counterpart'`, null],
  // Nothing narrows the passages: no plan.
  ['援', {}, null, null],
  ['kind:heading -counterpart', {}, null, null],
];

describe('a query as one tsquery', () => {
  it.each(CASES)('%s %o → %s', (q, opts, tsquery, loose) => {
    const plan = planStrict(parseQuery(q), expansions, opts);
    expect(plan?.tsquery ?? null).toBe(tsquery);
    expect(plan?.loose ?? null).toBe(loose);
  });

  it('looks a very long term up as its hash, as it is stored', () => {
    const term = analyze(LONG, 'query')[0]!.term;
    expect(lexeme(term)).toMatch(/^#[0-9a-f]{64}$/);
    expect(planStrict(parseQuery(`${LONG} "key node"`), expansions)?.tsquery).toBe(`'${lexeme(term)}' & ('kei' <-> 'node')`);
  });

  it('lists what ranking reads: terms looked up, single characters, phrases’ word pairs, and every variant’s words', () => {
    const plan = planStrict(parseQuery('"key node" 援 -对口支援'), expansions)!;
    expect(plan.terms).toEqual(['kei', 'node', '对口', '口支', '支援']);
    expect(plan.chars).toEqual(['援']);
    expect(plan.pairs).toEqual(['kei|node']);
    expect(plan.counted).toEqual(expect.arrayContaining(['kei', 'node', '援', '对口支援']));
  });

  it('quotes lexemes for tsquery input', () => {
    expect(quoteLexeme("o'neil")).toBe(`'o''neil'`);
    expect(quoteLexeme('a\\b')).toBe(`'a\\\\b'`);
    expect(quoteLexeme('a | b & !c <-> d')).toBe(`'a | b & !c <-> d'`);
  });

  it('turns lang:, doc: and kind: into parameterised conditions', () => {
    const parsed = parseQuery("lang:en doc:a doc:b' kind:heading kind:table tag:x counterpart");
    expect(filterWhere(parsed.filters, 4)).toEqual({
      sql: ['lang = $4', 'doc_id = ANY($5::text[])', 'kind = ANY($6::text[])'],
      params: ['en', ['a', "b'"], ['heading', 'table']],
    });
    expect(filterWhere(parseQuery('counterpart').filters)).toEqual({ sql: [], params: [] });
    // tag:/note: reach the database as the papers holding the annotations they ask for.
    expect(filterWhere(parseQuery('lang:zh 对口支援 tag:援藏').filters, 2, ['p1', 'p2'])).toEqual({
      sql: ['lang = $2', 'doc_id = ANY($3::text[])'],
      params: ['zh', ['p1', 'p2']],
    });
    // No paper holds such an annotation: nothing can match, and the clause says so.
    expect(filterWhere(parseQuery('tag:none').filters, 1, [])).toEqual({ sql: ['doc_id = ANY($1::text[])'], params: [[]] });
  });
});
