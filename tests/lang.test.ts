import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CJK, detectLang, ZH_SHARE } from '../src/pipeline/lang.js';
import { sampleText } from './helpers/sample.js';

/** The definition, character by character, as detectLang's documentation states it. */
function oracle(text: string, fallback: 'zh' | 'en' = 'en'): 'zh' | 'en' {
  let letters = 0;
  let cjk = 0;
  for (const ch of text) {
    if (CJK.test(ch)) {
      cjk++;
      letters++;
    } else if (/\p{L}/u.test(ch)) letters++;
  }
  if (letters === 0) return fallback;
  return cjk / letters >= ZH_SHARE ? 'zh' : 'en';
}

describe('detectLang', () => {
  it.each([
    ['对口支援是中国特色国家治理的重要方式', 'zh'],
    ['Counterpart support is a mode of governance', 'en'],
    // Extension B ideographs (outside the BMP) count as ideographs: 𠀀𠀁 are two, not four.
    ['𠀀𠀁𠀂 abc', 'zh'],
    ['〇〇 abcdefg', 'en'],
    ['2008 — 12.5%', 'en'],
  ] as const)('%s → %s', (text, lang) => {
    expect(detectLang(text)).toBe(lang);
    expect(oracle(text)).toBe(lang);
  });

  it('answers the fallback for a text without letters', () => {
    expect(detectLang('1979, 2008 — ①②', 'zh')).toBe('zh');
  });

  it('agrees with the character-by-character definition on mixed scripts, surrogates and lone halves', () => {
    const pieces = fc.constantFrom('对口', '支援', 'aid', 'Tibet', '𠀀', '𪚥', '〇', '①', ' ', '，', '\ud840', '\udc00', 'é', 'Ж', '3');
    const text = fc.oneof(
      fc.array(pieces, { maxLength: 30 }).map((a) => a.join('')),
      fc.string({ unit: 'binary', maxLength: 60 }),
    );
    fc.assert(
      fc.property(text, fc.constantFrom('zh' as const, 'en' as const), (s, fallback) => {
        expect(detectLang(s, fallback)).toBe(oracle(s, fallback));
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with it on every paper of the sample corpus', () => {
    for (const id of ['wang-duikou-zhiyuan-mechanism', 'zhou-partner-assistance-overview', 'li-zhong-personalized-pairing']) {
      const text = sampleText(id);
      expect(detectLang(text)).toBe(oracle(text));
    }
  });
});
