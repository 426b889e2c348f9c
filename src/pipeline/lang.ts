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

/**
 * What a code unit of the BMP is, for {@link detectLang}: 2 an ideograph, 1
 * another letter, 0 neither. Built on first use (about 7 ms), not at start.
 */
let bmpClass: Uint8Array | undefined;
const buildBmpClass = (): Uint8Array => {
  const t = new Uint8Array(0x10000);
  for (let c = 0; c < 0x10000; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue; // surrogates: their pair is classified whole
    const ch = String.fromCharCode(c);
    t[c] = CJK.test(ch) ? 2 : LETTER.test(ch) ? 1 : 0;
  }
  return t;
};

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
  // A table lookup per code unit: testing the two regular expressions on every character
  // took a few milliseconds per paper, paid again at every update of a paper.
  const table = (bmpClass ??= buildBmpClass());
  let letters = 0;
  let cjk = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let k: number;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const ch = String.fromCodePoint(text.codePointAt(i)!);
      if (ch.length === 2) i++;
      k = CJK.test(ch) ? 2 : LETTER.test(ch) ? 1 : 0;
    } else k = table[c]!;
    if (k === 2) cjk++;
    if (k !== 0) letters++;
  }
  if (letters === 0) return fallback;
  return cjk / letters >= ZH_SHARE ? 'zh' : 'en';
}
