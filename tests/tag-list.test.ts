/**
 * Splitting a tag field into tag names, on the server (`splitTagList`) and in
 * the page's script (`parseTags`): the same rule, the same answers.
 */
import { describe, expect, it, vi } from 'vitest';
import { splitTagList } from '../src/store/annotation-rules.js';

// The page's scripts read the page's language and messages when loaded: a page of no messages, in English.
vi.stubGlobal('document', { body: { dataset: {} }, documentElement: { lang: 'en' } });
// @ts-expect-error the page's script has no type declarations of its own (it is checked as JavaScript)
const { parseTags } = await import('../public/js/duikou.js');

const CASES: Array<[string, string, string[], string[]]> = [
  ['commas, full-width commas, 、 and semicolons separate', 'a, b，c、d;e；f', [], ['a', 'b', 'c', 'd', 'e', 'f']],
  ['space around a name is not part of it, empty items go', ' x ,, y ；', [], ['x', 'y']],
  ['a repeat (ignoring case) goes', 'Tibet, tibet, 援藏', [], ['Tibet', '援藏']],
  ['a known name holding 、 stays whole', '教育、医疗, 援藏', ['教育、医疗'], ['教育、医疗', '援藏']],
  ['the same text with the name unknown is two tags', '教育、医疗, 援藏', [], ['教育', '医疗', '援藏']],
  ['a known name holding a comma and a space stays whole', 'Health, education, 援藏', ['Health, education'], ['Health, education', '援藏']],
  ['the longest known name wins', 'a, b, c, d', ['a, b', 'a, b, c'], ['a, b, c', 'd']],
  ['only as a whole item: a longer item holding the name is not it', 'xa, b', ['a, b'], ['xa', 'b']],
  ['a known name without a separator changes nothing', 'a, b', ['a', 'b'], ['a', 'b']],
  ['hierarchical names stay as typed', '援藏/教育、医疗；干部', ['援藏/教育、医疗'], ['援藏/教育、医疗', '干部']],
];

describe.each([
  ['the server', splitTagList as (text: string, known: string[]) => string[]],
  ['the page script', parseTags as (text: string, known: string[]) => string[]],
])('splitting a tag field in %s', (_where, split) => {
  it.each(CASES)('%s', (_name, text, known, want) => {
    expect(split(text, known)).toEqual(want);
  });
});
