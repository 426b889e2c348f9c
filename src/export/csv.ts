/**
 * CSV export: one row per annotation, for a spreadsheet.
 *
 * - UTF-8 with a byte-order mark, so Excel reads Chinese correctly when the
 *   file is double-clicked; RFC 4180 (`,`, `"`-quoting, CRLF between records;
 *   any cell holding a line break — CRLF, or a lone LF or CR — is quoted, so a
 *   newline inside a quote, prefix or note stays inside its cell).
 * - Formula injection: a cell that begins with `=`, `+`, `-`, `@`, a tab or a
 *   carriage return would be evaluated by Excel / LibreOffice / Google Sheets
 *   (`=HYPERLINK(…)` in a quote is an attack on whoever opens the file). Such a
 *   text cell is prefixed with an apostrophe `'` (csv-stringify's
 *   `escape_formulas`, the OWASP recommendation). The cost: a quote or note that
 *   really begins with "-" (a dash, a negative number written as text) shows a
 *   leading `'` in the file, and in the sheet. Numeric columns (start, end,
 *   year) are numbers and never prefixed.
 * - `page` is the quote's page (`12`, `12–13`), empty for a paper without page
 *   information; `quote` is the whole quote a reader sees (a page-break join
 *   closed), while `start`/`end` stay the stored document range.
 * - Streams: {@link csvStream} pulls annotations from an (async) iterable as
 *   the consumer reads, so a 10,000-annotation export never becomes one string.
 */
import { Readable, pipeline } from 'node:stream';
import { stringify } from 'csv-stringify';
import { pageLabel } from '../pipeline/pages.js';
import { type ExportAnnotation, type ExportDocument, readerQuote } from './types.js';

/** The header row, in column order. */
export const CSV_COLUMNS = [
  'id',
  'document id',
  'title',
  'authors',
  'year',
  'section',
  'page',
  'start',
  'end',
  'quote',
  'prefix',
  'suffix',
  'note',
  'tags',
  'colour',
  'created',
  'updated',
  'coder',
] as const;

/** Separator of the several authors / tags in one cell. */
export const CSV_LIST_SEPARATOR = '; ';

/** How the CSV export finds an annotation's document: a map or a function. */
export type DocumentLookup = ReadonlyMap<string, ExportDocument> | ((id: string) => ExportDocument | undefined);

function lookup(documents: DocumentLookup, id: string): ExportDocument | undefined {
  return typeof documents === 'function' ? documents(id) : documents.get(id);
}

/** The cells of one annotation's row, in {@link CSV_COLUMNS} order (before formula escaping). */
export function csvRow(a: ExportAnnotation, doc: ExportDocument | undefined): (string | number)[] {
  return [
    a.id,
    a.docId,
    doc?.title ?? '',
    (doc?.authors ?? []).join(CSV_LIST_SEPARATOR),
    doc?.year ?? '',
    a.section ?? '',
    a.page ? pageLabel(a.page) : '',
    a.start,
    a.end,
    readerQuote(a),
    a.prefix,
    a.suffix,
    a.note,
    a.tags.join(CSV_LIST_SEPARATOR),
    a.colour,
    a.createdAt,
    a.updatedAt,
    a.createdBy ?? 'owner',
  ];
}

async function* rows(
  annotations: Iterable<ExportAnnotation> | AsyncIterable<ExportAnnotation>,
  documents: DocumentLookup,
): AsyncGenerator<(string | number)[]> {
  for await (const a of annotations) yield csvRow(a, lookup(documents, a.docId));
}

/**
 * Stream annotations as CSV (UTF-8 with BOM, header row first). The result is
 * a byte stream (`Buffer` chunks): pipe it into an HTTP response or a file,
 * or `for await` over it. An error thrown by the annotation iterable destroys
 * the returned stream with that error.
 */
export function csvStream(annotations: Iterable<ExportAnnotation> | AsyncIterable<ExportAnnotation>, documents: DocumentLookup): Readable {
  const stringifier = stringify({
    bom: true,
    header: true,
    columns: [...CSV_COLUMNS],
    record_delimiter: 'windows',
    escape_formulas: true,
    // csv-stringify quotes a cell holding the record delimiter (CRLF), a comma or a
    // quote, but not a lone LF or CR: unquoted, a prefix of "\n\n" splits the row in
    // every reader. Quote any cell with a line break.
    quoted_match: /[\r\n]/,
  });
  // pipeline destroys the stringifier with the source's error, which is what
  // the consumer sees; nothing else to do in the callback.
  pipeline(Readable.from(rows(annotations, documents)), stringifier, () => {});
  return stringifier;
}
