import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { CONTEXT_LENGTH, type Selector, makeQuote, reanchor, splitsSurrogatePair, textHash } from '../src/store/anchor.js';
import { planReanchor } from '../src/store/annotation-rows.js';
import { planReanchorOffThread } from '../src/workers/reanchor.js';
import { SAMPLE } from './helpers/sample.js';

const CORPUS = SAMPLE;
const read = (id: string) =>
  readFileSync(join(CORPUS, `${id}.txt`), 'utf8')
    .replace(/^\uFEFF/, '')
    .replace(/\r\n/g, '\n');
const ZH = read('wang-duikou-zhiyuan-mechanism');
const EN = read('wang-counterpart-support-policy');
const ZH_QUOTE = '1956年,党的八大提出,国家主要任务是集中力量发展社会生产力,实现国家工业化。';
const EN_QUOTE =
  'The counterpart support system has undergone more than 70 years of development, and has been continuously improved and enriched.';

/** The selector an annotation of `quote` (its first occurrence) in `text` would store. */
function selectorOf(text: string, quote: string, from = 0): Selector {
  const start = text.indexOf(quote, from);
  expect(start, `quote not in text: ${quote.slice(0, 30)}`).toBeGreaterThanOrEqual(0);
  return { start, end: start + quote.length, ...makeQuote(text, start, start + quote.length) };
}

/** Insert `what` at offset `at`. */
const insert = (text: string, at: number, what: string) => text.slice(0, at) + what + text.slice(at);

describe.each([
  ['Chinese', ZH, ZH_QUOTE],
  ['English', EN, EN_QUOTE],
])('re-anchoring a %s sentence of a real paper', (_lang, text, quote) => {
  const sel = selectorOf(text, quote);

  it('keeps the range on the unchanged text (exact)', () => {
    expect(reanchor(text, sel)).toEqual({ status: 'anchored', method: 'exact', start: sel.start, end: sel.end, exact: quote });
  });

  it('follows the quote when a paragraph is inserted above (quote)', () => {
    const para = '新增的一段文字 A paragraph added by the editor, with 对口支援 in it.\n\n';
    const at = text.lastIndexOf('\n\n', sel.start - 1000) + 2;
    const moved = insert(text, at, para);
    const r = reanchor(moved, sel);
    expect(r).toEqual({ status: 'anchored', method: 'quote', start: sel.start + para.length, end: sel.end + para.length, exact: quote });
  });

  it('follows the quote when text right before it changes (context edited)', () => {
    const moved = insert(text, sel.start - 5, '（插入）');
    const r = reanchor(moved, sel);
    expect(r.status).toBe('anchored');
    expect(moved.slice(r.start, r.end)).toBe(quote);
    expect(r.start).toBe(sel.start + 4);
  });

  it('finds the corrected sentence when a typo inside the quote was fixed (fuzzy)', () => {
    // The annotation was made on a version with a typo; the corpus text has it fixed.
    const typo = quote.includes('undergone') ? quote.replace('undergone', 'undergnoe') : quote.replace('生产力', '生产率');
    const old = text.replace(quote, typo);
    const oldSel = selectorOf(old, typo);
    const r = reanchor(text, oldSel);
    expect(r).toEqual({ status: 'anchored', method: 'fuzzy', start: sel.start, end: sel.end, exact: quote });
  });

  it('orphans the annotation when its passage is deleted, keeping offsets and quote', () => {
    const paraStart = text.lastIndexOf('\n', sel.start) + 1;
    const paraEnd = text.indexOf('\n', sel.end);
    const gone = text.slice(0, paraStart) + text.slice(paraEnd + 1);
    expect(reanchor(gone, sel)).toEqual({ status: 'orphaned', method: 'orphaned', start: sel.start, end: sel.end, exact: quote });
  });

  it('is not stolen by a copy of the sentence quoted earlier in the paper', () => {
    // A new paragraph quoting the sentence goes in just above it: the copy lands
    // nearer the old offsets than the original does, so only the context can tell.
    const paraStart = text.lastIndexOf('\n', sel.start) + 1;
    const copy = `As quoted below (如下文所引): ${quote} ${'Filler discussing the quote at length. '.repeat(30)}\n\n`;
    let changed = insert(text, paraStart, copy);
    const shift = copy.length;
    expect(Math.abs(changed.indexOf(quote) - sel.start)).toBeLessThan(shift);
    // And another copy further down, for good measure.
    const later = changed.indexOf('\n\n', sel.end + shift + 10) + 2;
    changed = insert(changed, later, `Again: ${quote}\n\n`);
    const r = reanchor(changed, sel);
    expect(r).toEqual({ status: 'anchored', method: 'quote', start: sel.start + shift, end: sel.end + shift, exact: quote });
  });

  it('handles characters outside the BMP before and inside the quote', () => {
    // 𠀀 (U+20000, CJK Ext. B) and an emoji are two UTF-16 code units each.
    const astralQuote = `${quote.slice(0, 10)}𠀀😀${quote.slice(10)}`;
    const withAstral = text.replace(quote, astralQuote);
    const s = selectorOf(withAstral, astralQuote);
    const before = insert(withAstral, s.start - 3, '𠀀🇨🇳');
    const r = reanchor(before, s);
    expect(r).toEqual({ status: 'anchored', method: 'quote', start: s.start + 6, end: s.end + 6, exact: astralQuote });
    // A typo fixed next to the astral characters: still found, range on code point boundaries.
    const fixed = before.replace(astralQuote, astralQuote.replace('𠀀😀', '𠀀😃'));
    const f = reanchor(fixed, s);
    expect(f.status).toBe('anchored');
    expect(f.method).toBe('fuzzy');
    expect(f.exact).toBe(astralQuote.replace('𠀀😀', '𠀀😃'));
    expect(splitsSurrogatePair(fixed, f.start) || splitsSurrogatePair(fixed, f.end)).toBe(false);
  });
});

describe('re-anchoring edge cases', () => {
  it('does not fuzzy-match a short quote onto unrelated text', () => {
    const sel = selectorOf(EN, 'enriched');
    const r = reanchor(EN.replaceAll('enriched', 'XXXXXXXX'), sel);
    expect(r.status).toBe('orphaned');
  });

  it('chooses by context among many occurrences of a common term (对口支援)', () => {
    const nth = 57;
    let at = -1;
    for (let i = 0; i <= nth; i++) at = ZH.indexOf('对口支援', at + 1);
    const sel = { start: at, end: at + 4, ...makeQuote(ZH, at, at + 4) };
    const changed = insert(ZH, 100, '对口支援对口支援\n');
    expect(reanchor(changed, sel)).toMatchObject({ status: 'anchored', start: at + 9, end: at + 13 });
  });

  it('retries an orphan: the passage coming back re-anchors it', () => {
    const sel = selectorOf(EN, EN_QUOTE);
    expect(reanchor(EN.replace(EN_QUOTE, ''), sel).status).toBe('orphaned');
    expect(reanchor(EN, sel).method).toBe('exact');
  });

  it('handles a quote at the very start and end of the text', () => {
    const text = 'abc def ghi';
    const moved = `xx ${text}`;
    const first = { start: text.indexOf('abc'), end: text.indexOf('abc') + 3 };
    const s1 = { ...first, ...makeQuote(text, first.start, first.end) };
    expect(reanchor(moved, s1)).toMatchObject({ method: 'quote', start: moved.indexOf('abc'), end: moved.indexOf('abc') + 3 });
    const last = { start: text.indexOf('ghi'), end: text.length };
    const s2 = { ...last, ...makeQuote(text, last.start, last.end) };
    expect(reanchor(moved, s2)).toMatchObject({ method: 'quote', start: moved.indexOf('ghi'), end: moved.length });
  });
});

describe('makeQuote and textHash', () => {
  it('takes 32 code units of context and never splits a surrogate pair', () => {
    // 32 units before the quote falls inside the first emoji, 32 after it inside the last one.
    const text = `😀${'a'.repeat(31)}QUOTE${'b'.repeat(31)}😀`;
    const start = text.indexOf('QUOTE');
    const q = makeQuote(text, start, start + 5);
    expect(q).toEqual({ exact: 'QUOTE', prefix: 'a'.repeat(31), suffix: 'b'.repeat(31) });
    const whole = makeQuote(text, 2, text.length - 2);
    expect(whole).toEqual({ exact: text.slice(2, -2), prefix: '😀', suffix: '😀' });
    const plain = makeQuote(EN, 1000, 1010);
    expect(plain.prefix).toHaveLength(CONTEXT_LENGTH);
    expect(plain.suffix).toHaveLength(CONTEXT_LENGTH);
  });

  it('hashes with SHA-256', () => {
    expect(textHash('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(textHash('对口支援')).toMatch(/^[0-9a-f]{64}$/);
  });
});

/** A random text with astral characters, and a valid (code point aligned) range in it. */
const textAndRange = fc
  .array(fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), fc.constantFrom('对口支援', '𠀀', '😀', ' ', '\n')), {
    minLength: 1,
    maxLength: 60,
  })
  .map((parts) => parts.join(''))
  .chain((text) => {
    const cps = [...text];
    const bounds = [0];
    for (const c of cps) bounds.push((bounds.at(-1) as number) + c.length);
    return fc.tuple(fc.integer({ min: 0, max: cps.length - 1 }), fc.integer({ min: 1, max: cps.length })).map(([a, b]) => {
      const i = Math.min(a, b - 1);
      const j = Math.max(b, i + 1);
      return { text, start: bounds[i] as number, end: bounds[j] as number };
    });
  });

const count = (hay: string, needle: string) => {
  let n = 0;
  for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + 1)) n++;
  return n;
};

describe('re-anchoring properties', () => {
  it('keeps any valid range on the unchanged text', () => {
    fc.assert(
      fc.property(textAndRange, ({ text, start, end }) => {
        const sel = { start, end, ...makeQuote(text, start, end) };
        expect(reanchor(text, sel)).toEqual({ status: 'anchored', method: 'exact', start, end, exact: text.slice(start, end) });
      }),
      { numRuns: 300 },
    );
  });

  it('shifts the range by the inserted length when text is inserted before a unique quote', () => {
    fc.assert(
      fc.property(textAndRange, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), fc.nat(), ({ text, start, end }, ins, k) => {
        const boundaries = [0];
        for (const c of text.slice(0, start)) boundaries.push((boundaries.at(-1) as number) + c.length);
        const at = boundaries[k % boundaries.length] as number;
        const changed = insert(text, at, ins);
        const exact = text.slice(start, end);
        fc.pre(count(changed, exact) === 1);
        const r = reanchor(changed, { start, end, ...makeQuote(text, start, end) });
        expect(r).toEqual({ status: 'anchored', method: 'quote', start: start + ins.length, end: end + ins.length, exact });
      }),
      { numRuns: 300 },
    );
  });

  it('uses the context to pick the right one of repeated quotes (two-letter texts)', () => {
    const ab = fc.string({ unit: fc.constantFrom('a', 'b'), minLength: 1, maxLength: 80 });
    fc.assert(
      fc.property(ab, ab, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 6 }), (text, ins, p, k, len) => {
        const start = p % text.length;
        const end = Math.min(text.length, start + len);
        const q = makeQuote(text, start, end);
        // Insert before the stored prefix, so the true position keeps its whole context…
        const at = start - q.prefix.length === 0 ? 0 : k % (start - q.prefix.length + 1);
        const changed = insert(text, at, ins);
        // …and only when that context + quote is unique is the answer determined.
        fc.pre(count(changed, q.prefix + q.exact + q.suffix) === 1);
        const r = reanchor(changed, { start, end, ...q });
        expect(r).toMatchObject({ status: 'anchored', start: start + ins.length, end: end + ins.length });
      }),
      { numRuns: 500 },
    );
  });
});

describe('a quote edited where it stood, with an exact copy of it a sentence away', () => {
  // Two sentences worded alike about two provinces; the researcher coded the one on Tibet.
  const v1 = '援藏与援疆\n\nSecond: the policy works well in Tibet region.\n\nFirst: the policy works well in Xinjiang.\n';
  const quote = 'the policy works well';
  const sel = selectorOf(v1, quote);
  it.each([
    ['English, a word inflected', v1.replace('the policy works well in Tibet', 'the policies work well in Tibet')],
    ['with a Chinese gloss added', v1.replace('the policy works well in Tibet', 'the policy (政策) works well in Tibet')],
  ])('stays on the sentence it coded (%s), not on the copy', (_n, v2) => {
    const r = reanchor(v2, sel);
    expect(r).toMatchObject({ status: 'anchored', method: 'fuzzy' });
    expect(v2.slice(r.end, r.end + ' in Tibet'.length)).toBe(' in Tibet');
    expect(r.exact).toBe(v2.slice(r.start, r.end));
  });
});

describe('planning a re-anchoring beside the thread that answers requests', () => {
  /** Turns of the event loop (timers fired) while `work` is awaited. */
  async function turnsDuring<T>(work: () => Promise<T>): Promise<{ value: T; turns: number }> {
    let turns = 0;
    let timer = setTimeout(function tick() {
      turns++;
      timer = setTimeout(tick, 1);
    }, 1);
    try {
      return { value: await work(), turns };
    } finally {
      clearTimeout(timer);
    }
  }

  // A long annotation (six thousand characters from the 1956 sentence on) with a word changed inside it.
  const start = ZH.indexOf(ZH_QUOTE);
  const sel = { id: 'long', ...selectorOf(ZH, ZH.slice(start, start + 6000)) };
  const edited = ZH.slice(0, start) + ZH_QUOTE.replace('社会生产力', '社会生产力量') + ZH.slice(start + ZH_QUOTE.length);

  it('plans an annotation that needs the approximate search in a worker, the event loop turning meanwhile, as this thread would', async () => {
    const { value: plan, turns } = await turnsDuring(() => planReanchorOffThread(edited, [sel]));
    expect(turns).toBeGreaterThan(0);
    expect(plan).toEqual(planReanchor(edited, [sel]));
    expect(plan.changes[0]).toMatchObject({ status: 'anchored', method: 'fuzzy' });
    const c = plan.changes[0] as { start: number; end: number; exact: string };
    expect(edited.slice(c.start, c.end)).toBe(c.exact);
    expect(c.exact).toContain('社会生产力量');
  });

  // Past its limits the worker is stopped: what it did not place is placed without the approximate search.
  it.each([
    ['time', { timeoutMs: 1, memoryMb: 512 }, /took longer than 0.001 s/],
    ['memory', { timeoutMs: 60_000, memoryMb: 2 }, /needed more than 2 MB/],
  ])('stops a worker that runs out of %s, keeps the quotes that still stand and orphans the edited one', async (_what, limits, why) => {
    const still = ZH.slice(ZH.indexOf('对口支援'), ZH.indexOf('对口支援') + 12);
    const standing = { id: 'standing', ...selectorOf(ZH, still) };
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const plan = await planReanchorOffThread(edited, [sel, standing], '论文 𠀀', limits);
      expect(plan.changes).toEqual([{ id: 'long', status: 'orphaned' }, planReanchor(edited, [standing]).changes[0]]);
      expect(plan.changes[1]).toMatchObject({ status: 'anchored', method: 'exact' });
      expect(plan.counts).toEqual({ checked: 2, exact: 1, quote: 0, fuzzy: 0, orphaned: 1 });
      expect(log).toHaveBeenCalledTimes(1);
      expect(String(log.mock.calls[0]![0])).toMatch(why);
      expect(String(log.mock.calls[0]![0])).toContain('论文 𠀀');
    } finally {
      log.mockRestore();
    }
  });

  it('plans on this thread, starting no worker, when every quote still stands', async () => {
    const moved = '新增一段。\n\n' + ZH;
    const { value: plan, turns } = await turnsDuring(() => planReanchorOffThread(moved, [sel]));
    expect(turns).toBe(0);
    expect(plan.changes[0]).toMatchObject({ status: 'anchored', method: 'quote', start: sel.start + '新增一段。\n\n'.length });
  });
});
