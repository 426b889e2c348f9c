/**
 * Plain text and Markdown: the decoded file is the canonical text as it is
 * (`segment.ts` reads Markdown headings and lists itself).
 */
import { UserInputError } from '../../core/errors.js';
import { decodeBytes, looksBinary } from './encoding.js';
import type { ImportResult } from './types.js';

/** The `.txt`/`.md` importer: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK. */
export async function importText(bytes: Uint8Array, file: string): Promise<ImportResult> {
  const { text, clean } = decodeBytes(bytes);
  if (!clean && looksBinary(text)) {
    throw new UserInputError(
      'unreadable_file',
      `${file} is not text in UTF-8, UTF-16 or GB18030 (a binary or damaged file?) (无法识别该文件的编码)`,
    );
  }
  if (text.includes('\u0000')) {
    throw new UserInputError('unreadable_file', `${file} contains NUL bytes: not a text file (不是文本文件)`);
  }
  return { text };
}
