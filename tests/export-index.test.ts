import { describe, expect, it } from 'vitest';
import { parse as parseContentDisposition } from 'content-disposition';
import { contentDisposition as disposition, exportFileName, exportFormats, isExportFormat } from '../src/export/index.js';

const date = new Date('2026-11-22T10:00:00Z');

describe('exportFormats', () => {
  it('covers every format with a content type and extension', () => {
    expect(Object.keys(exportFormats).sort()).toEqual(['csv', 'docx', 'markdown', 'refiqda', 'webannotation']);
    expect(exportFormats.csv.contentType).toBe('text/csv; charset=utf-8');
    expect(exportFormats.refiqda.extension).toBe('qdpx');
    expect(isExportFormat('docx')).toBe(true);
    expect(isExportFormat('toString')).toBe(false);
    expect(isExportFormat('pdf')).toBe(false);
  });
});

describe('exportFileName', () => {
  it.each([
    [{ format: 'markdown', filter: { tag: '援藏' } }, 'duikou-quotes-2026-11-22-tag-援藏.md', 'duikou-quotes-2026-11-22-tag.md'],
    [{ format: 'csv' }, 'duikou-quotes-2026-11-22.csv', 'duikou-quotes-2026-11-22.csv'],
    [{ format: 'docx', filter: { tag: '援藏/教育' } }, 'duikou-quotes-2026-11-22-tag-援藏_教育.docx', 'duikou-quotes-2026-11-22-tag.docx'],
    [
      { format: 'markdown', filter: { tag: 'path dependence', doc: 'wang-counterpart-support-policy' } },
      'duikou-quotes-2026-11-22-tag-path_dependence-doc-wang-counterpart-support-policy.md',
      'duikou-quotes-2026-11-22-tag-path_dependence-doc-wang-counterpart-support-policy.md',
    ],
    [
      { format: 'webannotation', filter: { query: '"对口支援" OR café' } },
      'duikou-annotations-2026-11-22-q-对口支援_OR_café.json',
      'duikou-annotations-2026-11-22-q-OR_cafe.json',
    ],
    [{ format: 'refiqda', filter: { tag: '  ', doc: null } }, 'duikou-project-2026-11-22.qdpx', 'duikou-project-2026-11-22.qdpx'],
    [
      { format: 'csv', filter: { tag: '../../etc/passwd' } },
      'duikou-quotes-2026-11-22-tag-etc_passwd.csv',
      'duikou-quotes-2026-11-22-tag-etc_passwd.csv',
    ],
  ] as const)('%j', (options, full, ascii) => {
    const name = exportFileName({ ...options, date, timeZone: 'Asia/Shanghai' });
    expect(name.fileName).toBe(full);
    expect(name.asciiFileName).toBe(ascii);
    expect(name.asciiFileName).toMatch(/^[A-Za-z0-9._-]+$/);
  });

  it('uses the date in the given time zone', () => {
    const late = new Date('2026-11-22T20:00:00Z');
    expect(exportFileName({ format: 'csv', date: late, timeZone: 'Asia/Shanghai' }).fileName).toBe('duikou-quotes-2026-11-23.csv');
    expect(exportFileName({ format: 'csv', date: late, timeZone: 'UTC' }).fileName).toBe('duikou-quotes-2026-11-22.csv');
  });

  it('builds a Content-Disposition header whose filename* decodes back to the full name', () => {
    const { contentDisposition, fileName, asciiFileName } = exportFileName({
      format: 'markdown',
      date,
      filter: { tag: "援藏/教育 (it's) 𠀀" },
    });
    expect(contentDisposition).toMatch(/^attachment; filename="?[A-Za-z0-9._-]+"?; filename\*=UTF-8''[A-Za-z0-9%!#$&+.^_`|~-]+$/);
    expect(decodeURIComponent(contentDisposition.split("filename*=UTF-8''")[1]!)).toBe(fileName);
    // Read back as a client does: the full name where filename* is understood, the ASCII one otherwise.
    expect(parseContentDisposition(contentDisposition)).toMatchObject({ type: 'attachment', parameters: { filename: fileName } });
    expect(parseContentDisposition(contentDisposition, { extended: false }).parameters.filename).toBe(asciiFileName);
    // Quotes, parentheses, asterisks and spaces are percent-encoded; a fallback is never more than ASCII letters, digits and ._-
    const quoted = disposition(`a b'(c)*"d".csv`, 'a "b" c.csv');
    expect(quoted).toBe(`attachment; filename=a__b__c.csv; filename*=UTF-8''a%20b%27%28c%29%2A%22d%22.csv`);
    expect(parseContentDisposition(quoted).parameters.filename).toBe(`a b'(c)*"d".csv`);
  });
});
