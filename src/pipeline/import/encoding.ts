/**
 * Decoding the text formats (.txt, .md, .html): which encoding the bytes are in.
 *
 * A byte-order mark decides (UTF-8, UTF-16 LE/BE). Without one the bytes are
 * tried as strict UTF-8 — text in GBK/GB18030 is almost never valid UTF-8 —
 * then as UTF-16 when every other byte is zero (a BOM-less UTF-16 file of
 * mostly ASCII), then as strict GB18030, which covers GB2312 and GBK. Bytes
 * none of these accepts are decoded as UTF-8 with U+FFFD for the bad bytes.
 */

/** The encodings {@link detectEncoding} can answer. */
export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be' | 'gb18030';

/** The detected encoding and how many bytes of BOM to skip. */
export interface DetectedEncoding {
  encoding: TextEncodingName;
  /** Length of the byte-order mark, 0 without one. */
  bom: number;
  /** False when no encoding decoded the bytes cleanly (the text then holds U+FFFD). */
  clean: boolean;
}

function decodes(encoding: TextEncodingName, bytes: Uint8Array): boolean {
  try {
    new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Share of zero bytes at even (`parity` 0) or odd (1) positions of the first 4 KB. */
function zeroShare(bytes: Uint8Array, parity: 0 | 1): number {
  const n = Math.min(bytes.length, 4096);
  let zeros = 0;
  let total = 0;
  for (let i = parity; i < n; i += 2) {
    total++;
    if (bytes[i] === 0) zeros++;
  }
  return total === 0 ? 0 : zeros / total;
}

/** Detects the encoding of a text file's bytes (see the module comment for the order). */
export function detectEncoding(bytes: Uint8Array): DetectedEncoding {
  const [b0, b1, b2] = bytes;
  if (b0 === 0xef && b1 === 0xbb && b2 === 0xbf) return { encoding: 'utf-8', bom: 3, clean: decodes('utf-8', bytes.subarray(3)) };
  if (b0 === 0xff && b1 === 0xfe) return { encoding: 'utf-16le', bom: 2, clean: decodes('utf-16le', bytes.subarray(2)) };
  if (b0 === 0xfe && b1 === 0xff) return { encoding: 'utf-16be', bom: 2, clean: decodes('utf-16be', bytes.subarray(2)) };
  if (bytes.length >= 4 && bytes.length % 2 === 0) {
    // BOM-less UTF-16 of mostly Latin text: the high byte of each unit is zero.
    if (zeroShare(bytes, 1) > 0.4 && zeroShare(bytes, 0) < 0.05 && decodes('utf-16le', bytes))
      return { encoding: 'utf-16le', bom: 0, clean: true };
    if (zeroShare(bytes, 0) > 0.4 && zeroShare(bytes, 1) < 0.05 && decodes('utf-16be', bytes))
      return { encoding: 'utf-16be', bom: 0, clean: true };
  }
  if (decodes('utf-8', bytes)) return { encoding: 'utf-8', bom: 0, clean: true };
  if (decodes('gb18030', bytes)) return { encoding: 'gb18030', bom: 0, clean: true };
  return { encoding: 'utf-8', bom: 0, clean: false };
}

/**
 * The text of a file's bytes in the detected encoding: BOM stripped, CRLF → LF,
 * nothing else changed.
 */
export function decodeBytes(bytes: Uint8Array): { text: string; encoding: TextEncodingName; clean: boolean } {
  const d = detectEncoding(bytes);
  const text = new TextDecoder(d.encoding, { ignoreBOM: true }).decode(bytes.subarray(d.bom)).replace(/\r\n/g, '\n');
  return { text, encoding: d.encoding, clean: d.clean };
}

/**
 * True when decoded text looks like a binary file rather than text: NUL
 * characters, or U+FFFD replacing more than 1% of it.
 */
export function looksBinary(text: string): boolean {
  if (text.includes('\u0000')) return true;
  let bad = 0;
  for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) bad++;
  return bad > 0 && bad > text.length / 100;
}
