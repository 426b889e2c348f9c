/**
 * The export formats, and download file names for them.
 *
 * Every format module is re-exported here, so HTTP and CLI code can import
 * from `src/export/index.js` alone.
 */
import { create as createContentDisposition } from 'content-disposition';
import { DOCX_CONTENT_TYPE } from './docx.js';
import { QDPX_CONTENT_TYPE } from './refiqda.js';
import { WEB_ANNOTATION_CONTENT_TYPE } from './webannotation.js';

export * from './citation.js';
export * from './csv.js';
export * from './docx.js';
export * from './labels.js';
export * from './markdown.js';
export * from './refiqda.js';
export type * from './types.js';
export * from './webannotation.js';

/** The formats quotes can be exported in. */
export type ExportFormat = 'markdown' | 'csv' | 'webannotation' | 'docx' | 'refiqda';

/** How a format's file is served: its content type, extension, name and menu label. */
export interface ExportFormatInfo {
  /** `Content-Type` of the download. */
  contentType: string;
  /** File extension, without the dot. */
  extension: string;
  /** What the file holds, the second word of its name (`duikou-quotes-…`). */
  stem: string;
  /** Label for menus. */
  label: string;
}

/** Format id → how to serve it. */
export const exportFormats: Readonly<Record<ExportFormat, ExportFormatInfo>> = {
  markdown: { contentType: 'text/markdown; charset=utf-8', extension: 'md', stem: 'quotes', label: 'Markdown' },
  csv: { contentType: 'text/csv; charset=utf-8', extension: 'csv', stem: 'quotes', label: 'CSV (Excel)' },
  docx: { contentType: DOCX_CONTENT_TYPE, extension: 'docx', stem: 'quotes', label: 'Word' },
  webannotation: {
    contentType: WEB_ANNOTATION_CONTENT_TYPE,
    extension: 'json',
    stem: 'annotations',
    label: 'W3C Web Annotation (backup / 备份)',
  },
  refiqda: { contentType: QDPX_CONTENT_TYPE, extension: 'qdpx', stem: 'project', label: 'REFI-QDA (NVivo, ATLAS.ti, MAXQDA, QualCoder)' },
};

/** Whether `value` names an export format (a request's `format` parameter, checked). */
export function isExportFormat(value: unknown): value is ExportFormat {
  return typeof value === 'string' && Object.hasOwn(exportFormats, value);
}

/** The filter an export was made with, shown in its file name. */
export interface ExportFilter {
  tag?: string | null;
  /** Document id. */
  doc?: string | null;
  /** Search query. */
  query?: string | null;
}

/** What an export's file name is made from: the format, the date and the filter. */
export interface ExportFileNameOptions {
  format: ExportFormat;
  /** Date in the name (default: now). */
  date?: Date;
  /** IANA time zone the date is given in (default: the server's). */
  timeZone?: string;
  filter?: ExportFilter;
}

/** An export's file name, in full and for old clients, and the `Content-Disposition` naming it. */
export interface ExportFileName {
  /** The full name, Chinese kept: `duikou-quotes-2026-11-22-tag-援藏.md`. */
  fileName: string;
  /** Letters, digits, `.`, `_`, `-` only, for old clients: `duikou-quotes-2026-11-22-tag.md`. */
  asciiFileName: string;
  /** `attachment; filename=<ascii>; filename*=UTF-8''<percent-encoded full name>` (RFC 6266 / RFC 8187; `filename*` only when the full name is not plain ASCII), see {@link contentDisposition}. */
  contentDisposition: string;
}

/** Characters no file system or browser likes in a name, and whitespace. */
const UNSAFE = /[\\/:*?"<>|\u0000-\u001f\u007f\s]+/gu;
const MAX_PART = 60; // code points per filter value

function safePart(value: string): string {
  const cps = [
    ...value
      .normalize('NFC')
      .replace(UNSAFE, '_')
      .replace(/_+/g, '_')
      .replace(/^[._-]+|[._-]+$/g, ''),
  ];
  return cps.slice(0, MAX_PART).join('');
}

function asciiPart(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^[._-]+|[._-]+$/g, '');
}

function isoDate(date: Date, timeZone?: string): string {
  // en-CA formats dates as YYYY-MM-DD
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(date);
}

/**
 * A `Content-Disposition: attachment` value carrying both names (RFC 6266,
 * written by the content-disposition package express uses): `filename` the
 * ASCII name, and `filename*` the full name percent-encoded (RFC 8187) when
 * it differs.
 */
export function contentDisposition(fileName: string, asciiFileName: string): string {
  return createContentDisposition(fileName, { fallback: asciiFileName.replace(/[^A-Za-z0-9._-]/g, '_') });
}

/**
 * The download name of an export: `duikou-<stem>-<date>[-tag-<tag>][-doc-<id>][-q-<query>].<ext>`,
 * with an ASCII fallback and the `Content-Disposition` header value.
 * Slashes (hierarchical tags), other characters file systems reject, and
 * whitespace become `_`; each filter value is cut to 60 characters.
 */
export function exportFileName(options: ExportFileNameOptions): ExportFileName {
  const info = exportFormats[options.format];
  const head = ['duikou', info.stem, isoDate(options.date ?? new Date(), options.timeZone)];
  const filters: [string, string][] = [];
  const f = options.filter ?? {};
  for (const [label, value] of [
    ['tag', f.tag],
    ['doc', f.doc],
    ['q', f.query],
  ] as const) {
    if (value != null && value.trim() !== '') filters.push([label, value.trim()]);
  }
  const full = [...head];
  const ascii = [...head];
  for (const [label, value] of filters) {
    const s = safePart(value);
    if (s) full.push(label, s);
    const a = asciiPart(s);
    ascii.push(...(a ? [label, a] : [label]));
  }
  const fileName = `${full.join('-')}.${info.extension}`;
  const asciiFileName = `${ascii.join('-')}.${info.extension}`;
  return { fileName, asciiFileName, contentDisposition: contentDisposition(fileName, asciiFileName) };
}
