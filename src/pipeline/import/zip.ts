/**
 * Checking a zip container (a Word .docx) before anything unpacks it for good:
 * a few hundred KB can hold a gigabyte of XML, or millions of entries, and
 * mammoth (through JSZip) would unpack whatever the file asks for.
 *
 * yauzl reads the central directory (the same list JSZip goes by): the number
 * of entries and the sizes they declare are checked first; then each entry is
 * inflated as a stream and its bytes counted and thrown away. yauzl stops an
 * entry that inflates past the size it declared, so a file that lies in its
 * directory is caught too, after at most the declared bytes.
 */
import yauzl from 'yauzl';
import { UserInputError } from '../../core/errors.js';

/** What a zip container may hold. */
export interface ZipLimits {
  /** Most bytes all entries together may inflate to. */
  maxUnzippedBytes: number;
  /** Most entries. */
  maxZipEntries: number;
}

const mb = (n: number): string => `${Math.round(n / 1024 / 1024)} MB`;

function tooLarge(file: string, what: string): UserInputError {
  return new UserInputError('import_too_large', `${file} ${what}; duikou refuses it as a possible zip bomb (文件解压后过大，已拒绝)`, 422);
}

/**
 * Checks a zip container's entry count and unpacked size against the limits.
 * @throws UserInputError `import_too_large` (too many entries, or too large
 *   unpacked) or `unreadable_file` (not a zip, or a damaged one), naming the file
 */
export async function checkZip(bytes: Uint8Array, file: string, limits: ZipLimits): Promise<void> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromBufferPromise(buf, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false, decodeStrings: true });
  } catch (err) {
    throw new UserInputError(
      'unreadable_file',
      `${file} is not a readable Word (.docx) file: ${(err as Error).message} (无法读取该 Word 文件)`,
    );
  }
  if (zip.entryCount > limits.maxZipEntries) {
    zip.close();
    throw tooLarge(file, `holds ${zip.entryCount} parts (at most ${limits.maxZipEntries})`);
  }
  const entries: yauzl.Entry[] = [];
  let declared = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (e: yauzl.Entry) => {
        entries.push(e);
        declared += e.uncompressedSize;
        if (declared > limits.maxUnzippedBytes) reject(tooLarge(file, `unpacks to more than ${mb(limits.maxUnzippedBytes)}`));
        else zip.readEntry();
      });
      zip.on('end', () => resolve());
      zip.on('error', reject);
      zip.readEntry();
    });
    let total = 0;
    for (const e of entries) {
      if (e.fileName.endsWith('/')) continue;
      const stream = await zip.openReadStreamPromise(e);
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total > limits.maxUnzippedBytes) {
            stream.destroy();
            reject(tooLarge(file, `unpacks to more than ${mb(limits.maxUnzippedBytes)}`));
          }
        });
        stream.on('end', resolve);
        stream.on('error', reject);
      });
    }
  } catch (err) {
    if (err instanceof UserInputError) throw err;
    const msg = (err as Error).message;
    // yauzl: "too many bytes in the stream" — the entry inflates past what it declares.
    if (/too many bytes|too few bytes/i.test(msg)) throw tooLarge(file, `has a part that unpacks to more than it declares (${msg})`);
    throw new UserInputError('unreadable_file', `${file} is not a readable Word (.docx) file: ${msg} (无法读取该 Word 文件)`);
  } finally {
    zip.close();
  }
}
