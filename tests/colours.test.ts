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
  return Object.fromEntries([...block.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{3,6}|\d+%);/gi)].map((m) => [m[1]!, m[2]!]));
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

  /** How an annotation colour is drawn behind text: `--hl-mix` of it over the page. */
  const annotated = (colour: string) => interpolate([v.bg!, colour])(parseFloat(v['hl-mix']!) / 100);

  it('keeps annotated text readable in every annotation colour, alone, overlapping and hovered', () => {
    expect(v['hl-mix']).toMatch(/%$/);
    for (const colour of PALETTE) {
      expect(wcagContrast(v.fg!, annotated(colour)), colour).toBeGreaterThanOrEqual(4.5);
      // Overlapping and hovered highlights are drawn nearly full strength, with dark text in both modes.
      expect(wcagContrast('#1d2125', interpolate([colour, '#000'])(0.1)), colour).toBeGreaterThanOrEqual(4.5);
      expect(wcagContrast('#1d2125', colour), colour).toBeGreaterThanOrEqual(4.5);
    }
  });

  it('fills a match in a colour clearly unlike every annotation colour', () => {
    for (const colour of PALETTE) {
      const drawn = annotated(colour);
      expect(deltaE(v.mark!, drawn), colour).toBeGreaterThanOrEqual(12);
    }
  });
});
