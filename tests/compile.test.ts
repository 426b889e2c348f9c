import { describe, expect, it } from 'vitest';
import { compileItem, derivedForms, glossaryGroups } from '../src/pipeline/compile.js';
import { analyze } from '../src/pipeline/analyze.js';
import { createGlossary } from '../src/pipeline/glossary.js';
import { parseQuery } from '../src/pipeline/query.js';

const glossary = createGlossary([
  { zh: '扶贫协作', en: 'poverty alleviation collaboration', source: 'curated' },
  { zh: '扶贫', en: 'poverty alleviation', source: 'curated' },
  { zh: '区域发展', en: 'regional development', source: 'curated' },
]);
const expansions = (text: string) => glossary.translationsOf(text).map((t) => ({ text: t.term, via: t.term }));
/** Per clause index, the translations it gains from a multi-word entry. */
const groups = (q: string) =>
  Object.fromEntries(
    [...glossaryGroups(parseQuery(q).clauses, expansions)].map(([i, ex]) => [i, ex.map((e) => `${e.text} ${e.share.toFixed(2)}`)]),
  );

describe('multi-word glossary entries in unquoted queries', () => {
  it('gives each word of the longest entry its translation, with an equal share', () => {
    expect(groups('poverty alleviation collaboration')).toEqual({ 0: ['扶贫协作 0.33'], 1: ['扶贫协作 0.33'], 2: ['扶贫协作 0.33'] });
    expect(groups('Poverty Alleviation')).toEqual({ 0: ['扶贫 0.50'], 1: ['扶贫 0.50'] });
  });

  it('finds entries anywhere in the query, without overlap', () => {
    expect(groups('western regional development poverty alleviation')).toEqual({
      1: ['区域发展 0.50'],
      2: ['区域发展 0.50'],
      3: ['扶贫 0.50'],
      4: ['扶贫 0.50'],
    });
  });

  it('leaves quoted phrases, OR alternatives and single words alone', () => {
    expect(groups('"poverty alleviation" collaboration')).toEqual({});
    expect(groups('poverty OR alleviation collaboration')).toEqual({});
    expect(groups('development')).toEqual({});
  });
});

describe('compileItem', () => {
  it('marks a Chinese run for grep-like matching, after normalisation', () => {
    const [v] = compileItem({ kind: 'term', text: '對口支援' }, null);
    expect(v).toMatchObject({ terms: ['对口支援'], run: '对口支援' });
    expect(compileItem({ kind: 'phrase', text: '对口 支援' }, null)[0]!.run).toBeUndefined();
    expect(compileItem({ kind: 'term', text: 'GDP增长' }, null)[0]).toMatchObject({ terms: ['gdp', '增长'] });
  });

  it('adds the joined form of a hyphenated compound', () => {
    expect(compileItem({ kind: 'term', text: 'self-governing' }, null).map((v) => v.terms)).toEqual([['self', 'govern'], ['selfgovern']]);
    expect(compileItem({ kind: 'term', text: '2008-2011' }, null).map((v) => v.terms)).toEqual([['2008', '2011']]);
  });

  it('adds glossary translations only when expanding', () => {
    const item = { kind: 'phrase' as const, text: 'regional development' };
    expect(compileItem(item, expansions).map((v) => [v.terms.join(' '), v.via, v.run])).toEqual([
      ['region develop', undefined, undefined],
      ['区域发展', '区域发展', '区域发展'],
    ]);
    expect(compileItem(item, null)).toHaveLength(1);
  });
});

describe('derived forms of a best-match word', () => {
  const stemsOf = (w: string) => new Set(derivedForms(w).map((f) => analyze(f, 'query')[0]!.term));
  it('a verb reaches the nouns and adjectives Porter keeps apart from it, from any inflection', () => {
    const competition = analyze('competition competitive', 'query').map((t) => t.term);
    for (const w of ['compete', 'competing', 'competes']) for (const t of competition) expect(stemsOf(w).has(t)).toBe(true);
    expect(stemsOf('produce').has(analyze('production', 'query')[0]!.term)).toBe(true);
  });
  it('never the word itself, never from a noun back to its verb, nothing for short words or codes', () => {
    expect(stemsOf('compete').has(analyze('compete', 'query')[0]!.term)).toBe(false);
    expect(stemsOf('reduction').has(analyze('reduce', 'query')[0]!.term)).toBe(false);
    expect(derivedForms('aid')).toEqual([]);
    expect(derivedForms('covid19')).toEqual([]);
  });
  it('are added as derived variants only when asked, at a lower share', () => {
    const item = { kind: 'term' as const, text: 'compete' };
    expect(compileItem(item, null).some((v) => v.derived)).toBe(false);
    const derived = compileItem(item, null, [], { derive: true }).filter((v) => v.derived);
    expect(derived.length).toBeGreaterThan(0);
    expect(derived.every((v) => (v.share ?? 1) < 1)).toBe(true);
  });
});
