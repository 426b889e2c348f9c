/**
 * Writes the PDF fixtures of the import tests into tests/fixtures/import/:
 *
 * - `two-column.pdf`: a three-page English paper in two columns, with a running
 *   header, page numbers, a full-width title, a larger-font heading, a word
 *   hyphenated across a line end and a paragraph running from the left column
 *   into the right one.
 * - `chinese.pdf`: a two-page Chinese paper set in a subset of Noto Sans CJK SC
 *   (from the system's fonts-noto-cjk), with a phrase broken across a line, a
 *   line whose characters are placed one by one (as many Chinese PDFs do), a
 *   running header and page numbers.
 * - `scanned.pdf`: a page of shapes only, as a scan without a text layer looks.
 *
 * The PDFs are committed, so the tests need neither this script nor the font.
 * Run: `npx tsx scripts/make-fixtures.ts` (needs the devDependencies pdf-lib
 * and @pdf-lib/fontkit, and /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fontkit from '@pdf-lib/fontkit';
import { type PDFFont, type PDFPage, PDFDocument, StandardFonts, rgb } from 'pdf-lib';

const OUT = fileURLToPath(new URL('../tests/fixtures/import/', import.meta.url));
const CJK_FONT = '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc';
/** A fixed date keeps the files byte-for-byte the same on every run. */
const DATE = new Date('2024-01-01T00:00:00Z');

function fixed(doc: PDFDocument, title: string): void {
  doc.setTitle(title);
  doc.setCreationDate(DATE);
  doc.setModificationDate(DATE);
  doc.setProducer('duikou scripts/make-fixtures.ts');
  doc.setCreator('duikou');
}

/** Greedy word wrap to `width`; an explicit `\n` forces a line break (for the hyphenated word). */
function wrap(text: string, font: PDFFont, size: number, width: number): string[] {
  const lines: string[] = [];
  for (const part of text.split('\n')) {
    let line = '';
    for (const word of part.split(' ')) {
      const next = line ? `${line} ${word}` : word;
      if (line && font.widthOfTextAtSize(next, size) > width) {
        lines.push(line);
        line = word;
      } else line = next;
    }
    if (line) lines.push(line);
  }
  return lines;
}

/** Draws paragraphs in a column from `y` down; returns the y below the last line. */
function column(
  page: PDFPage,
  font: PDFFont,
  x: number,
  y: number,
  width: number,
  paras: Array<{ text: string; indent?: boolean }>,
): number {
  const size = 10;
  const leading = 12;
  for (const p of paras) {
    const lines = wrap(p.text, font, size, width - (p.indent ? 12 : 0));
    lines.forEach((l, i) => {
      page.drawText(l, { x: x + (p.indent && i === 0 ? 12 : 0), y, size, font });
      y -= leading;
    });
    y -= 6;
  }
  return y;
}

async function twoColumn(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  fixed(doc, 'Counterpart Support and Local Development');
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const W = 612;
  const H = 792;
  const left = 54;
  const colW = 240;
  const right = left + colW + 24;
  const pages: Array<{
    title?: boolean;
    l: Array<{ text: string; indent?: boolean; heading?: string }>;
    r: Array<{ text: string; indent?: boolean; heading?: string }>;
  }> = [
    {
      title: true,
      l: [
        { heading: '1. Introduction', text: '' },
        {
          text: 'Alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu opens the left column.',
        },
        {
          indent: true,
          text: 'Pairing programmes shaped the economic devel-\nopment of the receiving counties, which the second paragraph of the left column describes in plain words.',
        },
      ],
      r: [
        {
          text: 'Column two begins here with the right column paragraph about provincial budgets, which must come after the left column in reading order.',
        },
        { indent: true, text: 'A second paragraph of the right column ends the first page without any hyphen at all.' },
      ],
    },
    {
      l: [
        { heading: '2. Wenchuan', text: '' },
        {
          text: 'After the earthquake the Wenchuan reconstruction programme assigned each damaged county to a donor province for three years of work.',
        },
        { indent: true, text: 'Donor provinces sent engineers, teachers and doctors, and the money that the counterpart' },
      ],
      r: [
        { text: 'cities raised paid for schools and hospitals across the region.' },
        { indent: true, text: 'The third paragraph of page two closes the section with a full stop.' },
      ],
    },
    {
      l: [
        { heading: '3. Conclusion', text: '' },
        { text: 'Counterpart support remains a distinctive instrument of Chinese governance today.' },
      ],
      r: [{ text: 'Further research should compare the programmes across provinces and decades.' }],
    },
  ];
  pages.forEach((spec, i) => {
    const page = doc.addPage([W, H]);
    page.drawText('Journal of Pairing Studies 12(3)', { x: left, y: H - 36, size: 8, font });
    page.drawText(String(i + 1), { x: W / 2 - 3, y: 30, size: 9, font });
    let top = H - 90;
    if (spec.title) {
      const t = 'Counterpart Support and Local Development';
      page.drawText(t, { x: (W - bold.widthOfTextAtSize(t, 18)) / 2, y: H - 80, size: 18, font: bold });
      top = H - 120;
    }
    for (const [x, paras] of [
      [left, spec.l],
      [right, spec.r],
    ] as const) {
      let y = top;
      for (const p of paras) {
        if (p.heading) {
          page.drawText(p.heading, { x, y, size: 13, font: bold });
          y -= 20;
          continue;
        }
        y = column(page, font, x, y, colW, [p]);
      }
    }
  });
  return doc.save({ useObjectStreams: false });
}

async function chinese(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  fixed(doc, '对口支援政策研究');
  // The font file is a collection; fontkit takes the Simplified Chinese face by its PostScript name.
  doc.registerFontkit({ create: (buf: Uint8Array) => fontkit.create(buf, 'NotoSansCJKsc-Regular') } as unknown as typeof fontkit);
  const font = await doc.embedFont(readFileSync(CJK_FONT), { subset: true });
  const W = 595;
  const H = 842;
  const x = 72;
  const size = 12;
  const header = (page: PDFPage, n: number): void => {
    page.drawText('管理世界 2022年第3期', { x, y: H - 40, size: 9, font });
    page.drawText(String(n), { x: W / 2 - 3, y: 36, size: 9, font });
  };
  const p1 = doc.addPage([W, H]);
  header(p1, 1);
  p1.drawText('对口支援政策研究', { x, y: H - 90, size: 20, font });
  p1.drawText('一、引言', { x, y: H - 130, size: 15, font });
  let y = H - 160;
  const lines1 = [
    '　　改革开放以来，中央政府在西部地区实施对口',
    '支援政策，东部省市与西部地区结成帮扶关系，',
    '形成了中国特色的区域协调发展机制。',
  ];
  for (const l of lines1) {
    p1.drawText(l, { x, y, size, font });
    y -= 18;
  }
  y -= 12;
  // One glyph at a time, a little apart, as many Chinese PDFs place them.
  const spaced = '　　汶川地震灾后恢复重建由十九个省市分别承担。';
  let cx = x;
  for (const ch of spaced) {
    p1.drawText(ch, { x: cx, y, size, font });
    cx += font.widthOfTextAtSize(ch, size) + 3;
  }
  y -= 18;
  // A line whose text holds spaces between characters.
  p1.drawText('这 一 安排 被 称为 “一省帮一重灾县”。', { x, y, size, font });

  const p2 = doc.addPage([W, H]);
  header(p2, 2);
  p2.drawText('二、灾后重建', { x, y: H - 90, size: 15, font });
  y = H - 120;
  for (const l of ['　　三年之内，援建项目全部竣工，受灾群众', '住进了新居，学校和医院也恢复了运转。']) {
    p2.drawText(l, { x, y, size, font });
    y -= 18;
  }
  return doc.save({ useObjectStreams: false });
}

async function scanned(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  fixed(doc, 'A scan');
  for (let n = 0; n < 2; n++) {
    const page = doc.addPage([595, 842]);
    for (let i = 0; i < 30; i++)
      page.drawRectangle({ x: 72, y: 760 - i * 22, width: 300 + ((i * 37) % 150), height: 9, color: rgb(0.2, 0.2, 0.2) });
  }
  return doc.save({ useObjectStreams: false });
}

mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'two-column.pdf'), await twoColumn());
writeFileSync(join(OUT, 'chinese.pdf'), await chinese());
writeFileSync(join(OUT, 'scanned.pdf'), await scanned());
console.log(`wrote the PDF fixtures to ${OUT}`);
