/**
 * Decompression bombs, made in memory for the tests (no large fixture is
 * committed): small files that unpack to hundreds of megabytes or hold
 * millions of paragraphs or text operators.
 *
 * A long run of one repeated chunk is deflated once: zlib's full flush ends
 * the chunk's blocks on a byte boundary with the dictionary reset, so the
 * compressed chunk can be repeated byte for byte, and a 1 GB stream costs
 * about as much to make as 1 MB.
 */
import { Zip, ZipDeflate, type ZipInputFile, strToU8 } from 'fflate';
import { PDFDocument, PDFName, PDFNumber, PDFRawStream, StandardFonts } from 'pdf-lib';
import { constants, crc32, deflateRawSync } from 'node:zlib';

/** A raw deflate stream of `head`, `chunk` × `times`, `tail`, with the uncompressed size and CRC-32. */
export function repeatedDeflate(head: string, chunk: string, times: number, tail: string) {
  const h = Buffer.from(head);
  const c = Buffer.from(chunk);
  const t = Buffer.from(tail);
  const full = { level: 9, finishFlush: constants.Z_FULL_FLUSH };
  const hz = deflateRawSync(h, full);
  const cz = deflateRawSync(c, full);
  const tz = deflateRawSync(t); // the final block
  let crc = crc32(h);
  for (let i = 0; i < times; i++) crc = crc32(c, crc);
  crc = crc32(t, crc);
  return { parts: [hz, ...Array<Buffer>(times).fill(cz), tz], size: h.length + c.length * times + t.length, crc: crc >>> 0 };
}

const CONTENT_TYPES =
  '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
  '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
  '<Default Extension="xml" ContentType="application/xml"/>' +
  '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>';
const RELS =
  '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
  '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>';
const DOC_HEAD =
  '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>';
const DOC_TAIL = '</w:body></w:document>';

/**
 * A Word file whose word/document.xml is `DOC_HEAD`, `chunk` × `times`, `DOC_TAIL`.
 * @param declaredSize - the uncompressed size the zip directory states (a lie when given)
 */
export function docxBomb(chunk: string, times: number, declaredSize?: number): Uint8Array {
  const out: Uint8Array[] = [];
  const zip = new Zip((err, data) => {
    if (err) throw err;
    out.push(data);
  });
  for (const [name, body] of [
    ['[Content_Types].xml', CONTENT_TYPES],
    ['_rels/.rels', RELS],
  ] as const) {
    const f = new ZipDeflate(name);
    zip.add(f);
    f.push(strToU8(body), true);
  }
  const d = repeatedDeflate(DOC_HEAD, chunk, times, DOC_TAIL);
  const doc: ZipInputFile = { filename: 'word/document.xml', size: declaredSize ?? d.size, crc: d.crc, compression: 8 };
  zip.add(doc);
  d.parts.forEach((p, i) => doc.ondata!(null, new Uint8Array(p), i === d.parts.length - 1));
  zip.end();
  return Buffer.concat(out);
}

/** A Word file of `n` one-word paragraphs (a few hundred KB for millions). */
export const docxManyParagraphs = (n: number): Uint8Array => docxBomb('<w:p><w:r><w:t>aid</w:t></w:r></w:p>'.repeat(1000), n / 1000);

/** A Word file whose document inflates to about `mb` MB of whitespace-padded paragraphs. */
export const docxInflating = (mb: number, declaredSize?: number): Uint8Array =>
  docxBomb(`<w:p><w:r><w:t>${' '.repeat(1024 * 1024 - 40)}</w:t></w:r></w:p>`, mb, declaredSize);

/**
 * A one-page PDF whose content stream is `chunk` × `times` between a text
 * object's start and end, stored deflated (zlib format; pdfjs does not check
 * the Adler-32, so it is left zero).
 */
export async function pdfBomb(chunk: string, times: number): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  const page = pdf.addPage([612, 792]);
  page.node.setFontDictionary(PDFName.of('F1'), font.ref);
  const d = repeatedDeflate('BT /F1 10 Tf 72 720 Td ', chunk, times, ' ET');
  const body = Buffer.concat([Buffer.from([0x78, 0xda]), ...d.parts, Buffer.alloc(4)]);
  const dict = pdf.context.obj({ Filter: 'FlateDecode' });
  dict.set(PDFName.of('Length'), PDFNumber.of(body.length));
  page.node.set(PDFName.of('Contents'), pdf.context.register(PDFRawStream.of(dict, body)));
  return pdf.save({ useObjectStreams: false });
}

/** A PDF with about `n` text-showing operators on its one page, each placed apart (so each is its own text item). */
export const pdfManyOperators = (n: number): Promise<Uint8Array> =>
  pdfBomb('1 0 0 1 72 700 Tm (aid) Tj 1 0 0 1 300 400 Tm (aid) Tj '.repeat(500), n / 1000);

/** A PDF whose one content stream inflates to about `mb` MB of text operators. */
export const pdfInflating = (mb: number): Promise<Uint8Array> =>
  pdfBomb('(counterpart support) Tj 0 -12 Td '.repeat(Math.floor((1024 * 1024) / 34)), mb);
