import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserInputError } from '../src/core/errors.js';
import { decodeBytes, detectEncoding, importFile } from '../src/pipeline/import/index.js';
import { decodeText, loadDocument } from '../src/pipeline/load.js';
import { matchedText } from './import-helpers.js';

/** GB18030 bytes of a string of ASCII and GBK characters, from a table the platform's own decoder builds. */
function encodeGb18030(s: string): Buffer {
  const table = new Map<string, number[]>();
  const dec = new TextDecoder('gb18030', { fatal: true });
  for (let hi = 0x81; hi <= 0xfe; hi++)
    for (let lo = 0x40; lo <= 0xfe; lo++) {
      if (lo === 0x7f) continue;
      try {
        const ch = dec.decode(new Uint8Array([hi, lo]));
        if (!table.has(ch)) table.set(ch, [hi, lo]);
      } catch {
        // not a two-byte character
      }
    }
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x80) out.push(cp);
    else {
      const bytes = table.get(ch);
      if (!bytes) throw new Error(`no GBK code for ${ch}`);
      out.push(...bytes);
    }
  }
  return Buffer.from(out);
}

const utf16le = (s: string): Buffer => Buffer.from(`\uFEFF${s}`, 'utf16le');
const utf16be = (s: string): Buffer => utf16le(s).swap16();

const PAPER_ZH = '对口支援政策研究\r\n\r\n王禹澔\r\n\r\n一、引言\r\n\r\n改革开放以来，中央在西部地区实施对口支援政策。\r\n';
const PAPER_EN = 'A Study of Pairing\r\n\r\nLi Lei\r\n\r\n1. Introduction\r\n\r\nCounterpart support began in 1979.\r\n';

const dir = mkdtempSync(join(tmpdir(), 'duikou-import-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('text encodings', () => {
  it.each([
    ['UTF-8 without BOM', Buffer.from(PAPER_ZH, 'utf8'), 'utf-8'],
    ['UTF-8 with BOM', Buffer.from(`\uFEFF${PAPER_ZH}`, 'utf8'), 'utf-8'],
    ['UTF-16 LE with BOM', utf16le(PAPER_ZH), 'utf-16le'],
    ['UTF-16 BE with BOM', utf16be(PAPER_ZH), 'utf-16be'],
    ['GB18030', encodeGb18030(PAPER_ZH), 'gb18030'],
  ])('decodes %s to the same canonical text', (_what, bytes, encoding) => {
    expect(detectEncoding(bytes).encoding).toBe(encoding);
    const text = decodeText(bytes);
    expect(text).toBe(PAPER_ZH.replace(/\r\n/g, '\n'));
    expect(decodeBytes(bytes).clean).toBe(true);
  });

  it('decodes English in UTF-16 BE and GB18030 too', () => {
    expect(decodeText(utf16be(PAPER_EN))).toBe(PAPER_EN.replace(/\r\n/g, '\n'));
    expect(decodeText(encodeGb18030(PAPER_EN))).toBe(PAPER_EN.replace(/\r\n/g, '\n'));
  });

  it.each([
    ['gb18030.txt', encodeGb18030(PAPER_ZH)],
    ['utf16le.txt', utf16le(PAPER_ZH)],
    ['utf16be.txt', utf16be(PAPER_ZH)],
    ['bom.md', Buffer.from(`\uFEFF${PAPER_ZH}`, 'utf8')],
  ])('loads %s so that search finds its words at the right offsets', async (file, bytes) => {
    writeFileSync(join(dir, file), bytes);
    const doc = await loadDocument(dir, file, {});
    expect(doc.title).toBe('对口支援政策研究');
    expect(doc.lang).toBe('zh');
    expect(doc.text.charCodeAt(0)).not.toBe(0xfeff);
    expect(doc.text).not.toContain('\r');
    expect(doc.pages).toBeUndefined();
    const found = await matchedText(doc, '对口支援');
    expect(found.length).toBeGreaterThanOrEqual(2);
    for (const s of found) expect(s).toBe('对口支援');
    expect(await matchedText(doc, '改革开放')).toEqual(['改革开放']);
  });

  it('keeps UTF-16 text with characters outside the BMP at the right offsets', async () => {
    const text = '𠀀字研究\n\n第一段：𠀀😀对口支援。\n';
    writeFileSync(join(dir, 'astral.txt'), utf16le(text));
    const doc = await loadDocument(dir, 'astral.txt', {});
    expect(doc.text).toBe(text);
    expect(await matchedText(doc, '对口支援')).toEqual(['对口支援']);
  });

  it('refuses a binary file named .txt, naming it', async () => {
    const bytes = Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919) % 256));
    const err = await importFile(bytes, 'image.txt').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserInputError);
    expect((err as Error).message).toContain('image.txt');
  });

  it('refuses an unknown extension and an oversized file, naming them', async () => {
    await expect(importFile(Buffer.from('x'), 'paper.rtf')).rejects.toThrow(/paper\.rtf/);
    const big = { byteLength: 300 * 1024 * 1024 } as Uint8Array;
    await expect(importFile(big, 'huge.txt')).rejects.toThrow(/huge\.txt is 300 MB/);
  });
});
