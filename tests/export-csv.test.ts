import { parse } from 'csv-parse/sync';
import { parse as parseStream } from 'csv-parse';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CSV_COLUMNS, csvStream } from '../src/export/csv.js';
import type { ExportAnnotation, ExportDocument } from '../src/export/types.js';
import { annEn1, annZh1, enDoc, input, zhDoc } from './export-fixtures.js';

async function collect(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

const docs = new Map<string, ExportDocument>([
  [zhDoc.id, zhDoc],
  [enDoc.id, enDoc],
]);

describe('csvStream', () => {
  it('writes a BOM, the header and one row per annotation that csv-parse reads back exactly', async () => {
    const bytes = await collect(csvStream(input.annotations, docs));
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const records: string[][] = parse(bytes, { bom: true, relax_column_count: false });
    expect(records[0]).toEqual([...CSV_COLUMNS]);
    expect(records).toHaveLength(input.annotations.length + 1);

    const zh = records[1]!;
    expect(zh).toEqual([
      annZh1.id,
      zhDoc.id,
      '中国特色对口支援机制：成就、经验与价值',
      '王禹澔',
      '2022',
      '三、对口支援的经验',
      '', // no page information in the fixture
      String(annZh1.start),
      String(annZh1.end),
      '教育援藏坚持“组团式”支援,选派骨干教师进藏任教',
      annZh1.prefix,
      annZh1.suffix,
      annZh1.note,
      '援藏/教育',
      '#ffd54f',
      '2026-11-20T08:30:00.000Z',
      '2026-11-21T09:15:30.500Z',
      'owner', // no coder recorded: made before accounts, by the implicit owner
    ]);
    const en = records[3]!;
    expect(en[2]).toBe(enDoc.title); // contains a comma and an apostrophe
    expect(en[12]).toBe(annEn1.note); // newline, commas and double quotes
    expect(en[13]).toBe('path dependence; 援藏');
    expect(records[2]![5]).toBe(''); // null section
  });

  it('neutralises formula cells with a leading apostrophe, and only those', async () => {
    const base = input.annotations[0]!;
    const cases: [string, string][] = [
      ['=SUM(A1)', "'=SUM(A1)"],
      ['+1', "'+1"],
      ['-x', "'-x"],
      ['@x', "'@x"],
      ['\tled by a tab', "'\tled by a tab"],
      ['\rled by a CR', "'\rled by a CR"],
      ['a=b, +c', 'a=b, +c'],
      ['对口支援=援助', '对口支援=援助'],
      ["'already", "'already"],
    ];
    const anns: ExportAnnotation[] = cases.map(([text], i) => ({ ...base, id: `id-${i}`, exact: text, note: text, tags: [text] }));
    const records: string[][] = parse(await collect(csvStream(anns, docs)), { bom: true });
    cases.forEach(([, expected], i) => {
      const row = records[i + 1]!;
      expect(row[9]).toBe(expected); // quote
      expect(row[12]).toBe(expected); // note
      expect(row[13]).toBe(expected); // tags
    });
  });

  it('keeps one row per annotation when a prefix is a lone newline (read back field by field)', async () => {
    const base = input.annotations[0]!;
    const anns: ExportAnnotation[] = [
      { ...base, id: 'nl-1', prefix: '\n\n', suffix: '\n', note: 'a\nb' },
      { ...base, id: 'nl-2', prefix: 'x\r', suffix: '\r\n', note: '\r' },
      { ...base, id: 'nl-3' },
    ];
    const bytes = await collect(csvStream(anns, docs));
    // The raw text: every cell with a line break is quoted.
    const text = bytes.toString('utf8');
    expect(text).toContain(',"\n\n",');
    // Read as Python's csv module and spreadsheets do: LF, CR and CRLF all end an unquoted row.
    const records: string[][] = parse(bytes, { bom: true, record_delimiter: ['\r\n', '\n', '\r'] });
    expect(records).toHaveLength(anns.length + 1);
    expect(records.slice(1).map((r) => r[0])).toEqual(['nl-1', 'nl-2', 'nl-3']);
    const cols = (r: string[]): string[] => ['prefix', 'suffix', 'note'].map((name) => r[records[0]!.indexOf(name)]!);
    expect(cols(records[1]!)).toEqual(['\n\n', '\n', 'a\nb']);
    // A cell that begins with CR is a formula risk and gets the apostrophe; the line breaks stay inside.
    expect(cols(records[2]!)).toEqual(['x\r', "'\r\n", "'\r"]);
  });

  it('reads back any text in any cell exactly, one row per annotation (property)', async () => {
    const risky = fc.constantFrom('\n', '\r', '\r\n', ',', '"', ';', ' ', '对口', '𠀋', 'a', '=');
    const cell = fc.array(risky, { maxLength: 8 }).map((parts) => parts.join(''));
    // The documented formula rule: a cell that begins with = + - @ TAB or CR gets a leading apostrophe.
    const shown = (s: string): string => (/^[=+\-@\t\r]/u.test(s) ? `'${s}` : s);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(cell, cell, cell, cell), { minLength: 1, maxLength: 5 }), async (cells) => {
        const base = input.annotations[0]!;
        const anns = cells.map(([exact, prefix, suffix, note], i) => ({ ...base, id: `p-${i}`, exact, prefix, suffix, note }));
        const bytes = await collect(csvStream(anns, docs));
        const records: string[][] = parse(bytes, { bom: true, record_delimiter: ['\r\n', '\n', '\r'] });
        expect(records).toHaveLength(anns.length + 1);
        anns.forEach((a, i) => {
          const row = records[i + 1]!;
          const cols = ['quote', 'prefix', 'suffix', 'note'].map((name) => row[records[0]!.indexOf(name)]);
          expect(cols).toEqual([a.exact, a.prefix, a.suffix, a.note].map(shown));
        });
      }),
      { numRuns: 200 },
    );
  });

  it('leaves cells empty for an unknown document and takes a lookup function', async () => {
    const orphanDoc = { ...annEn1, docId: 'gone' };
    const records: string[][] = parse(await collect(csvStream([orphanDoc], (id) => docs.get(id))), { bom: true });
    expect(records[1]!.slice(1, 5)).toEqual(['gone', '', '', '']);
  });

  it('streams 10,000 annotations from an async iterable', async () => {
    const N = 10_000;
    let produced = 0;
    async function* many(): AsyncGenerator<ExportAnnotation> {
      for (let i = 0; i < N; i++) {
        produced++;
        yield { ...annZh1, id: `ann-${i}`, note: i % 3 === 0 ? `第${i}条, "note"\nline 2` : '', start: i, end: i + 5 };
      }
    }
    const stream = csvStream(many(), docs);
    // Nothing is produced before the consumer reads much: the source is pulled lazily.
    await new Promise((r) => setImmediate(r));
    expect(produced).toBeLessThan(N);

    const parser = stream.pipe(parseStream({ bom: true }));
    let rows = 0;
    let last: string[] = [];
    for await (const record of parser as AsyncIterable<string[]>) {
      rows++;
      last = record;
    }
    expect(rows).toBe(N + 1);
    expect(last[0]).toBe(`ann-${N - 1}`);
    expect(last[7]).toBe(String(N - 1));
  });

  it('gives the page and the whole quote, and leaves the page empty without page information', async () => {
    const joined = { ...annEn1, id: 'joined', page: { first: 12, last: 13 }, quote: `${annEn1.exact} (whole)` };
    const single = { ...annZh1, id: 'single', page: { first: 7, last: 7 } };
    const records: Record<string, string>[] = parse(await collect(csvStream([joined, single, annZh1], docs)), { bom: true, columns: true });
    expect(records.map((r) => r['page'])).toEqual(['12–13', '7', '']);
    expect(records[0]!['quote']).toBe(joined.quote);
    expect(records[0]!['start']).toBe(String(annEn1.start)); // the stored range is unchanged
    expect(records[1]!['quote']).toBe(annZh1.exact);
  });

  it('passes an error of the source on to the consumer', async () => {
    async function* failing(): AsyncGenerator<ExportAnnotation> {
      yield annZh1;
      throw new Error('database went away');
    }
    await expect(collect(csvStream(failing(), docs))).rejects.toThrow('database went away');
  });
});
