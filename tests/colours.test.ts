/**
 * Search matches and annotations must not be confused in the reader, in light
 * and dark mode: the match colours read from the stylesheet are checked for
 * text contrast (WCAG 2 AA, 4.5:1), for an underline that stands out from the
 * fill (3:1, non-text contrast), and for a clear colour difference (CIEDE2000
 * ≥ 12) from every annotation colour as it is drawn (55 % over the page).
 * The yellow matches used to have were 4.5 from the default annotation yellow.
 */
import { readFileSync } from 'node:fs';
import { differenceCiede2000, interpolate, wcagContrast } from 'culori';
import { describe, expect, it } from 'vitest';
import { PALETTE } from '../src/http/annotation-pages.js';

const css = readFileSync(new URL('../public/css/duikou.css', import.meta.url), 'utf8');

/** The custom properties of the first `:root { … }` block after `from`. */
function rootVars(from: number): Record<string, string> {
  const at = css.indexOf(':root {', from);
  const block = css.slice(at, css.indexOf('}', at));
  return Object.fromEntries([...block.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{3,6});/gi)].map((m) => [m[1]!, m[2]!]));
}

const light = rootVars(0);
const dark = rootVars(css.indexOf('@media (prefers-color-scheme: dark)'));
const deltaE = differenceCiede2000();

describe.each([
  ['light', light],
  ['dark', dark],
])('search-match colours in %s mode', (_mode, v) => {
  it('reads the colours from the stylesheet', () => {
    for (const k of ['bg', 'fg', 'mark', 'mark-fg', 'mark-line']) expect(v[k], k).toMatch(/^#/);
  });

  it('keeps matched text readable and the underline visible', () => {
    expect(wcagContrast(v['mark-fg']!, v.mark!)).toBeGreaterThanOrEqual(4.5);
    expect(wcagContrast(v['mark-line']!, v.mark!)).toBeGreaterThanOrEqual(3);
    expect(wcagContrast(v['mark-line']!, v.bg!)).toBeGreaterThanOrEqual(3);
  });

  it('fills a match in a colour clearly unlike every annotation colour', () => {
    for (const colour of PALETTE) {
      const drawn = interpolate([v.bg!, colour])(0.55);
      expect(deltaE(v.mark!, drawn), colour).toBeGreaterThanOrEqual(12);
    }
  });
});
