import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AgreementTable,
  type CodedSpan,
  type Pattern,
  type RoundPaper,
  type Unit,
  type Value,
  agreementTable,
  cohenKappa,
  krippendorffAlphaNominal,
  percentAgreement,
  tableOfPatterns,
} from '../src/services/agreement.js';

/** Coders × units (rows are coders) → one pattern per unit. */
const byUnit = (matrix: Value[][]): Pattern[] => matrix[0]!.map((_, u) => ({ values: matrix.map((row) => row[u]!), count: 1 }));

describe('Krippendorff’s alpha (nominal), against Krippendorff (2011) “Computing Krippendorff’s Alpha-Reliability”', () => {
  it('section A, two observers, binary data, 10 units: α = 0.095', () => {
    const data = [
      [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
      [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
    ];
    expect(krippendorffAlphaNominal(byUnit(data))).toBeCloseTo(0.095, 3);
  });

  it('section C, four observers, 12 units, values 1–5 with missing values: α = 0.743', () => {
    const _ = null;
    const data: Value[][] = [
      [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
      [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
      [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
      [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
    ];
    expect(krippendorffAlphaNominal(byUnit(data))).toBeCloseTo(0.743, 3);
  });

  it('is 1 for perfect agreement, undefined when nothing varies, and counts patterns like repeated units', () => {
    expect(
      krippendorffAlphaNominal(
        byUnit([
          [1, 0, 1],
          [1, 0, 1],
        ]),
      ),
    ).toBe(1);
    expect(
      krippendorffAlphaNominal(
        byUnit([
          [0, 0],
          [0, 0],
        ]),
      ),
    ).toBeNull();
    const repeated = byUnit([
      [0, 1, 1, 0, 0, 1],
      [0, 1, 0, 0, 1, 1],
    ]);
    const counted: Pattern[] = [
      { values: [0, 0], count: 2 },
      { values: [1, 1], count: 2 },
      { values: [1, 0], count: 1 },
      { values: [0, 1], count: 1 },
    ];
    expect(krippendorffAlphaNominal(counted)).toBeCloseTo(krippendorffAlphaNominal(repeated)!, 12);
  });
});

describe('Cohen’s kappa', () => {
  it('the textbook 2×2 example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no of 50 → p_o 0.7, p_e 0.5, κ = 0.4', () => {
    const table: Pattern[] = [
      { values: ['yes', 'yes'], count: 20 },
      { values: ['yes', 'no'], count: 5 },
      { values: ['no', 'yes'], count: 10 },
      { values: ['no', 'no'], count: 15 },
    ];
    expect(cohenKappa(table)).toBeCloseTo(0.4, 12);
    expect(percentAgreement(table)).toBeCloseTo(0.7, 12);
  });

  it('is undefined when both coders gave one and the same value throughout', () => {
    expect(cohenKappa([{ values: [0, 0], count: 9 }])).toBeNull();
  });
});

describe('agreementTable', () => {
  // Two coders on a mixed-script paper with a character outside the BMP.
  const text = '对口支援 counterpart support 𠀀援藏。第二段';
  const split = text.indexOf('第二段');
  const paper = {
    id: 'p',
    text,
    passages: [
      { start: 0, end: split },
      { start: split, end: text.length },
    ],
  };
  const span = (coder: string, quote: string, tags: string[]) => {
    const start = text.indexOf(quote);
    return { docId: 'p', start, end: start + quote.length, coder, tags };
  };

  it('counts characters as code points and finds the disagreement per tag', () => {
    const t = agreementTable(
      [paper],
      [
        span('li', '对口支援', ['援藏']),
        span('zhang', '对口', ['援藏']),
        span('li', '𠀀援藏', ['经济']),
        span('zhang', '𠀀援藏', ['经济']),
      ],
      ['li', 'zhang'],
      'characters',
    );
    const chars = [...text].length;
    const tag = t.rows.find((r) => r.tag === '援藏')!;
    expect(tag.units).toBe(chars);
    expect(tag.coded).toEqual({ li: 4, zhang: 2 });
    expect(tag.percent).toBeCloseTo((chars - 2) / chars, 12);
    const eco = t.rows.find((r) => r.tag === '经济')!;
    expect(eco.coded).toEqual({ li: 3, zhang: 3 }); // 𠀀 is one character
    expect(eco.kappa).toBe(1);
    expect(eco.alpha).toBe(1);
    const overall = t.rows.at(-1)!;
    expect(overall.tag).toBeNull();
    expect(overall.units).toBe(2 * chars);
    expect(overall.kappa).toBeGreaterThan(0);
    expect(overall.kappa).toBeLessThan(1);
  });

  it('on passages, overlapping codings of one paragraph agree', () => {
    const t = agreementTable([paper], [span('li', '对口支援', ['援藏']), span('zhang', '援藏', ['援藏'])], ['li', 'zhang'], 'passages');
    const tag = t.rows.find((r) => r.tag === '援藏')!;
    expect(tag.units).toBe(2);
    expect(tag.percent).toBe(1);
  });
});

describe('agreementTable against a unit-by-unit count', () => {
  /** The definition: a unit is coded by a coder when any of its UTF-16 units lies in one of their spans with the tag. */
  function oracle(papers: RoundPaper[], spans: CodedSpan[], coders: string[], unit: Unit): AgreementTable {
    const tags = [...new Set(spans.flatMap((s) => s.tags))].sort((a, b) => a.localeCompare(b));
    const byTag = new Map<string, Map<string, number>>(tags.map((t) => [t, new Map()]));
    for (const paper of papers) {
      const units: [number, number][] = [];
      if (unit === 'passages') for (const p of paper.passages) units.push([p.start, p.end]);
      else
        for (let i = 0; i < paper.text.length; i += paper.text.codePointAt(i)! > 0xffff ? 2 : 1)
          units.push([i, i + (paper.text.codePointAt(i)! > 0xffff ? 2 : 1)]);
      for (const tag of tags) {
        for (const [a, b] of units) {
          const key = coders
            .map((c) => {
              for (let i = a; i < b && i < paper.text.length; i++) {
                if (spans.some((s) => s.docId === paper.id && s.coder === c && s.tags.includes(tag) && s.start <= i && i < s.end))
                  return '1';
              }
              return '0';
            })
            .join('');
          const m = byTag.get(tag)!;
          m.set(key, (m.get(key) ?? 0) + 1);
        }
      }
    }
    // The figures from these counts through the table's own formulas: what is checked here is the counting.
    return tableOfPatterns(byTag, coders, unit);
  }

  it('gives the same table on random papers and spans, surrogate pairs and split pairs included', () => {
    const piece = fc.constantFrom('对口', '支援', 'aid', ' ', '𠀀', '😀', '。', 'x');
    const paperArb = fc.array(piece, { minLength: 1, maxLength: 25 }).map((a) => a.join(''));
    const arb = fc.tuple(fc.array(paperArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 3 })).chain(([texts, nCoders]) => {
      const coders = ['li', 'zhang', 'wang'].slice(0, nCoders);
      const papers: RoundPaper[] = texts.map((text, i) => {
        const cut = Math.floor(text.length / 2);
        return {
          id: `p${i}`,
          text,
          passages: [
            { start: 0, end: cut },
            { start: cut, end: text.length },
          ],
        };
      });
      const spanArb = fc
        .tuple(
          fc.integer({ min: 0, max: texts.length - 1 }),
          fc.constantFrom(...coders),
          fc.nat(),
          fc.nat(),
          fc.subarray(['援藏', '援疆', '教育'], { minLength: 1 }),
        )
        .map(([d, coder, x, y, tags]): CodedSpan => {
          const len = texts[d]!.length;
          const a = x % (len + 1);
          const b = y % (len + 1);
          return { docId: `p${d}`, coder, start: Math.min(a, b), end: Math.max(a, b) + (a === b ? 1 : 0), tags };
        });
      return fc.tuple(
        fc.constant(papers),
        fc.array(spanArb, { maxLength: 12 }),
        fc.constant(coders),
        fc.constantFrom<Unit>('characters', 'passages'),
      );
    });
    fc.assert(
      fc.property(arb, ([papers, spans, coders, unit]) => {
        expect(agreementTable(papers, spans, coders, unit)).toEqual(oracle(papers, spans, coders, unit));
      }),
      { numRuns: 400 },
    );
  });
});
