/**
 * Language detection and the CJK character test the analyzer shares.
 */
import type { Lang } from '../core/types.js';

/**
 * One CJK ideograph. `Unified_Ideograph` covers the URO, extension A and every
 * supplementary-plane extension (B–I, outside the BMP), which a hand-kept range
 * list would fall behind on; the compatibility blocks and 〇 (U+3007, the
 * ideographic zero of Chinese dates and numbers) are added because Unicode does
 * not count them as unified.
 */
export const CJK = /[\p{Unified_Ideograph}\u{F900}-\u{FAFF}\u{2F800}-\u{2FA1F}\u{3007}]/u;

/** True when the code point is a CJK ideograph (see {@link CJK}). */
export function isCjk(codePoint: number): boolean {
  return CJK.test(String.fromCodePoint(codePoint));
}

const LETTER = /\p{L}/u;

/** Share of ideographs among letters from which a text counts as Chinese. */
export const ZH_SHARE = 0.3;

/**
 * The language of a text: 'zh' when ideographs make up at least 30% of its
 * letters, else 'en'. The share is low on purpose: Chinese papers carry Latin
 * names, DOIs and English references, yet one ideograph stands for a whole
 * word where English needs five or more letters.
 * @param fallback - the answer for a text without any letter (numbers, punctuation)
 */
export function detectLang(text: string, fallback: Lang = 'en'): Lang {
  let letters = 0;
  let cjk = 0;
  for (const ch of text) {
    if (CJK.test(ch)) {
      cjk++;
      letters++;
    } else if (LETTER.test(ch)) letters++;
  }
  if (letters === 0) return fallback;
  return cjk / letters >= ZH_SHARE ? 'zh' : 'en';
}
