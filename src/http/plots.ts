/**
 * Plots drawn on the server as SVG, so they read without JavaScript and
 * need nothing the strict CSP forbids: presentation attributes only (no
 * `style` attributes, no script), every text escaped, a `<title>` on each
 * mark for a tooltip and screen readers, and a table beside each plot with
 * the same numbers.
 *
 * - Dispersion: each paper as a bar, a tick per occurrence at its position
 *   in the paper (offset / paper length), as AntConc's concordance plot.
 * - Occurrences per year, for papers whose year is known.
 *
 * Colours are presentation attributes (`fill`, `stroke`) that the page's CSS
 * classes override (for dark mode); a downloaded SVG file, outside the page,
 * keeps the attributes' light-mode colours.
 */
import { escapeHtml } from './passage-html.js';

/** One paper's row in the dispersion plot. */
export interface DispersionRow {
  docId: string;
  /** Author–year label. */
  label: string;
  /** Link to the paper in the reader. */
  url: string;
  /** Paper length in UTF-16 code units. */
  length: number;
  /** Offsets of the occurrences. */
  offsets: number[];
}

/** Occurrences in the papers of one year. */
export interface YearCount {
  year: number;
  occurrences: number;
  papers: number;
}

const fmt = (x: number): string => String(Math.round(x * 10) / 10);

/** Cut a label to `max` code points. */
function cut(s: string, max: number): string {
  const cps = [...s];
  return cps.length > max ? `${cps.slice(0, max - 1).join('')}…` : s;
}

/**
 * The dispersion plot: a bar per paper with a tick per occurrence.
 * Colours come from the page's CSS classes (`plot-bar`, `plot-tick`), which
 * also adapt them to dark mode.
 */
export function dispersionSvg(rows: readonly DispersionRow[], title: string): string {
  const labelW = 190;
  const barW = 560;
  const rowH = 34;
  const countW = 60;
  const width = labelW + barW + countW;
  const height = rows.length * rowH + 28;
  const parts: string[] = [];
  parts.push(
    `<svg class="plot dispersion" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif" font-size="13" role="img" aria-labelledby="disp-title">`,
    `<title id="disp-title">${escapeHtml(title)}</title>`,
  );
  rows.forEach((r, i) => {
    const y = i * rowH + 6;
    parts.push(
      `<a href="${escapeHtml(r.url)}"><text class="plot-label" fill="#1d2125" x="${labelW - 8}" y="${y + 15}" text-anchor="end">${escapeHtml(cut(r.label, 24))}<title>${escapeHtml(r.label)}</title></text></a>`,
      `<rect class="plot-bar" x="${labelW}" y="${y}" width="${barW}" height="20" rx="2" fill="#f4f5f6" stroke="#5b636b" stroke-width="0.5"/>`,
    );
    for (const o of r.offsets) {
      const x = labelW + (r.length > 0 ? (o / r.length) * barW : 0);
      parts.push(`<rect class="plot-tick" x="${fmt(Math.min(labelW + barW - 1.5, x))}" y="${y}" width="1.5" height="20" fill="#8a2a14"/>`);
    }
    parts.push(`<text class="plot-count" fill="#1d2125" x="${labelW + barW + 8}" y="${y + 15}">${r.offsets.length}</text>`);
  });
  const axisY = rows.length * rowH + 20;
  parts.push(
    `<text class="plot-axis" fill="#5b636b" x="${labelW}" y="${axisY}">0%</text>`,
    `<text class="plot-axis" fill="#5b636b" x="${labelW + barW / 2}" y="${axisY}" text-anchor="middle">50%</text>`,
    `<text class="plot-axis" fill="#5b636b" x="${labelW + barW}" y="${axisY}" text-anchor="end">100%</text>`,
    '</svg>',
  );
  return parts.join('');
}

/** A bar chart of occurrences per year; `papers` words a count of papers for the bars' tooltips. */
export function yearsSvg(
  years: readonly YearCount[],
  title: string,
  papers: (n: number) => string = (n) => `${n} paper${n === 1 ? '' : 's'}`,
): string {
  const barW = 44;
  const gap = 16;
  const plotH = 160;
  const width = Math.max(240, years.length * (barW + gap) + gap);
  const height = plotH + 44;
  const max = Math.max(1, ...years.map((y) => y.occurrences));
  const parts: string[] = [
    `<svg class="plot years" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif" font-size="13" role="img" aria-labelledby="years-title">`,
    `<title id="years-title">${escapeHtml(title)}</title>`,
    `<line class="plot-baseline" stroke="#5b636b" x1="0" y1="${plotH + 16}" x2="${width}" y2="${plotH + 16}"/>`,
  ];
  years.forEach((y, i) => {
    const h = (y.occurrences / max) * plotH;
    const x = gap + i * (barW + gap);
    parts.push(
      `<rect class="plot-year" fill="#8a2a14" x="${x}" y="${fmt(plotH + 16 - h)}" width="${barW}" height="${fmt(h)}"><title>${y.year}: ${y.occurrences} (${escapeHtml(papers(y.papers))})</title></rect>`,
      `<text class="plot-count" fill="#1d2125" x="${x + barW / 2}" y="${fmt(plotH + 12 - h)}" text-anchor="middle">${y.occurrences}</text>`,
      `<text class="plot-axis" fill="#5b636b" x="${x + barW / 2}" y="${plotH + 34}" text-anchor="middle">${y.year}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}
