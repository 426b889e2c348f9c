/**
 * Reading the persisted engine state back (see state-store.ts): only when it
 * was taken with exactly the papers the index holds and its file is the one
 * its head names, each array read into a buffer of its own (a gigabyte at a
 * time), the large ones on the thread pool while the papers' passages are
 * decoded, and the triples left in the file until the engine answers.
 */
import { constants } from 'node:buffer';
import { closeSync, fstatSync, openSync, read, readSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Database as DB } from 'better-sqlite3';
import type { KnownCut } from '../../pipeline/jieba.js';
import type { DocumentMeta, Passage } from '../../core/types.js';
import type { DeferredTriples, IndexSnapshot } from '../../pipeline/index.js';
import type { EngineState } from './engine.js';
import { HEADER_BYTES, type PaperPart, type StateHead, TYPED, decodePassages, fileOf, header, headOf, stateDir } from './state-format.js';

/** A paper as the documents table holds it, but its text (read when needed, see texts.ts). */
export interface StoredPaper {
  id: string;
  file: string;
  hash: string;
  pages: string | null;
}

/** A section's bytes as a typed array over them (each section has a buffer of its own, at offset 0: aligned). */
function view<T>(buf: ArrayBuffer, Kind: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number }): T {
  if (buf.byteLength % Kind.BYTES_PER_ELEMENT !== 0) throw new Error('the persisted state has an array of a broken length');
  return new Kind(buf, 0, buf.byteLength / Kind.BYTES_PER_ELEMENT);
}

/**
 * Most bytes one read asks for. Node takes a read's length as a 32-bit
 * integer (`length |= 0`), so a longer one wraps negative and throws, and no
 * byte view may pass 4 GiB on Node 20: a gigabyte of papers persists ~3.4 GB
 * of postings in one array, which could not be read back at a restart until
 * reads were split. Each read fills a view of at most this many bytes.
 */
export const MOST_PER_READ = 2 ** 30;

/**
 * A buffer of `bytes` of its own (offset 0, aligned for any typed array):
 * not from Node's pool and not zero-filled first where a Buffer can hold
 * it, an ArrayBuffer past that.
 */
function bufferOf(bytes: number): ArrayBuffer {
  return bytes <= constants.MAX_LENGTH ? (Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer) : new ArrayBuffer(bytes);
}

/** Read a section of `bytes` at `position`, `most` at a time; null when the file ends first. */
export function readSection(fd: number, bytes: number, position: number, most = MOST_PER_READ): ArrayBuffer | null {
  const into = bufferOf(bytes);
  for (let done = 0; done < bytes;) {
    const part = new Uint8Array(into, done, Math.min(most, bytes - done));
    const n = readSync(fd, part, 0, part.byteLength, position + done);
    if (n === 0) return null;
    done += n;
  }
  return into;
}

/** {@link readSection} on the thread pool. */
export async function readSectionAsync(fd: number, bytes: number, position: number, most = MOST_PER_READ): Promise<ArrayBuffer | null> {
  const into = bufferOf(bytes);
  for (let done = 0; done < bytes;) {
    const part = new Uint8Array(into, done, Math.min(most, bytes - done));
    const { bytesRead } = await readAsync(fd, part, 0, part.byteLength, position + done);
    if (bytesRead === 0) return null;
    done += bytesRead;
  }
  return into;
}

const readAsync = promisify(read);

/** The arrays read on the thread pool while the papers are decoded. */
const LARGE = new Set(['ids', 'slots']);

/**
 * The state's triples, left in its file (see {@link DeferredTriples}): at a
 * gigabyte of papers they are 3.4 GB of its 4.4, and reading them before the
 * first answer doubled a restart. A passage's triples are read from the
 * file, until {@link DeferredTriples.load} has read them all on the thread
 * pool; the file stays open until then (a state written since deletes it,
 * and an open file is still read).
 */
function deferredTriples(path: string, offset: number, bytes: number): DeferredTriples {
  if (bytes % Uint32Array.BYTES_PER_ELEMENT !== 0) throw new Error('the persisted state has an array of a broken length');
  // Opened now, not at the first read: a rebuild after damage found later deletes the file.
  const fd = openSync(path, 'r');
  let loading: Promise<Uint32Array> | null = null;
  let open = true;
  const close = (): void => {
    if (open) closeSync(fd);
    open = false;
  };
  const whole = (b: ArrayBuffer | null): Uint32Array => {
    if (b === null) throw new Error('the persisted state file ended before its triples');
    return view(b, Uint32Array);
  };
  return {
    length: bytes / Uint32Array.BYTES_PER_ELEMENT,
    readInto(into, from, n) {
      const b = new Uint8Array(into.buffer, into.byteOffset, n * Uint32Array.BYTES_PER_ELEMENT);
      for (let done = 0; done < b.byteLength;) {
        const got = readSync(fd, b, done, b.byteLength - done, offset + from * Uint32Array.BYTES_PER_ELEMENT + done);
        if (got === 0) throw new Error('the persisted state file ended before its triples');
        done += got;
      }
    },
    readAll: () => whole(readSection(fd, bytes, offset)),
    load: () =>
      (loading ??= readSectionAsync(fd, bytes, offset).then((b) => {
        const triples = whole(b);
        // Read whole: the index no longer reads the file.
        close();
        return triples;
      })),
    discard: () => {
      if (!loading) close();
    },
  };
}

/** The persisted engine state, the papers it was taken with, their detected metadata and text lengths. */
export interface PersistedState {
  state: EngineState;
  /** The papers as the documents table holds them (their texts are read when needed, see texts.ts). */
  papers: StoredPaper[];
  meta: Record<string, DocumentMeta>;
  /** Each paper's text length, in UTF-16 code units. */
  lengths: Record<string, number>;
  /** Whether any passage is Chinese (a restart then loads jieba at once). */
  zh: boolean;
  /** jieba's cuts of the titles and glossary terms (see `cutParts` in state-store.ts). */
  cuts: KnownCut[];
  /** jieba's cuts of each paper that is not Chinese, by paper (see PreparedDocument.cuts). */
  paperCuts: Map<string, KnownCut[]>;
}

/**
 * The persisted state, when it was taken with exactly the papers the
 * database holds now (all of them complete) and its file is the one its head
 * names (there, of the size recorded, written by the same write); otherwise
 * null. Each array is read into a buffer of its own (aligned for any typed
 * array); the large ones on the thread pool while the papers'
 * passages are decoded.
 * @param whileReading - called once the large reads have started, with what the state holds:
 *   work for this thread meanwhile (loading jieba's dictionary when it holds Chinese)
 */
export async function readState(db: DB, whileReading?: (head: { zh: boolean }) => void): Promise<PersistedState | null> {
  const dir = stateDir(db);
  const current = dir === null ? null : headOf(db);
  if (!dir || !current) return null;
  const { gen, head } = current;
  const rows = db.prepare('SELECT id, file, hash, size, pages FROM documents').all() as (StoredPaper & { size: number })[];
  // A paper cut short by a crash (its stamp not yet written) has no place in a state.
  if (rows.some((r) => r.size < 0)) return null;
  const ids = Object.keys(head.docs);
  if (ids.length !== rows.length || rows.some((r) => head.docs[r.id] !== r.hash)) return null;
  if (head.file !== fileOf(gen)) return null;
  let fd: number;
  try {
    fd = openSync(join(dir, head.file), 'r');
  } catch {
    return null;
  }
  const reads: Promise<boolean>[] = [];
  try {
    if (fstatSync(fd).size !== head.size) return null;
    const first = readSection(fd, HEADER_BYTES, 0);
    if (first === null || !Buffer.from(first).equals(header(Buffer.from(head.token, 'hex'), head.size, gen))) return null;
    const blobs: Record<string, ArrayBuffer> = {};
    const texts: Record<string, string> = {};
    for (const [offset, bytes] of Object.values(head.sections)) {
      if (offset % 8 !== 0 || offset < HEADER_BYTES || offset + bytes > head.size) return null;
    }
    for (const [name, [offset, bytes]] of Object.entries(head.sections)) {
      if (name === 'triples') continue;
      if (LARGE.has(name)) {
        reads.push(
          readSectionAsync(fd, bytes, offset).then((b) => {
            if (b === null) return false;
            blobs[name] = b;
            return true;
          }),
        );
        continue;
      }
      const b = readSection(fd, bytes, offset);
      if (b === null) return null;
      if ((TYPED as readonly string[]).includes(name) || name === 'hanStable' || name === 'passages') blobs[name] = b;
      else texts[name] = Buffer.from(b).toString('utf8');
    }
    // The main thread's own work while the thread pool reads the large arrays.
    whileReading?.(head);
    const papers = undecodable(() => decodePapers(texts.papers ?? '[]', blobs.passages, texts.sectionNames ?? '[]'));
    if (!(await Promise.all(reads)).every(Boolean) || papers === null) return null;
    const index = undecodable(() => decodeIndex(head, blobs, texts));
    if (index === null) return null;
    const [tripleOffset, tripleBytes] = head.sections.triples ?? [0, 0];
    const state: EngineState = { ...index, passages: papers.passages };
    if (tripleBytes > 0) state.deferredTriples = deferredTriples(join(dir, head.file), tripleOffset, tripleBytes);
    return {
      state,
      papers: rows.map(({ size: _size, ...p }) => p),
      meta: papers.meta,
      lengths: papers.lengths,
      zh: head.zh,
      cuts: decodeCuts(texts.cuts),
      paperCuts: decodePaperCuts(texts.paperCuts),
    };
  } finally {
    // Never closed under a read still running (one that failed early, the others still reading).
    await Promise.allSettled(reads);
    closeSync(fd);
  }
}

/**
 * jieba's cuts kept with the state (see `cutParts` in state-store.ts). None
 * when the state has no such section (written before it was kept) or it is
 * not what it should be: jieba is then asked, as for any other text. A cut
 * whose words do not make up its text is never given.
 */
function decodeCuts(json: string | undefined): KnownCut[] {
  if (json === undefined) return [];
  const rows = undecodable(() => JSON.parse(json) as unknown);
  return Array.isArray(rows) ? rows.filter(isCut) : [];
}

/** The papers' cuts kept with the state (see PreparedDocument.cuts); none where they are not what they should be, as {@link decodeCuts}. */
function decodePaperCuts(json: string | undefined): Map<string, KnownCut[]> {
  const out = new Map<string, KnownCut[]>();
  const rows = json === undefined ? null : undecodable(() => JSON.parse(json) as unknown);
  if (!Array.isArray(rows)) return out;
  for (const row of rows) {
    if (Array.isArray(row) && row.length === 2 && typeof row[0] === 'string' && Array.isArray(row[1])) {
      out.set(row[0], (row[1] as unknown[]).filter(isCut));
    }
  }
  return out;
}

const isCut = (row: unknown): row is KnownCut =>
  Array.isArray(row) &&
  row.length === 3 &&
  row[0] === 'cut' &&
  typeof row[1] === 'string' &&
  Array.isArray(row[2]) &&
  row[2].every((w) => typeof w === 'string') &&
  row[2].join('') === row[1];

/**
 * What `decode` returns, or null when it throws: a state file of the right
 * size and write whose sections do not decode (damaged on disk) is not used,
 * as one of the wrong size is not (the papers are then added again from their
 * stored passages), rather than stopping the start.
 */
function undecodable<T>(decode: () => T): T | null {
  try {
    return decode();
  } catch {
    return null;
  }
}

/** Each paper's passages, detected metadata and text length, from the state's list of papers and its passages. */
function decodePapers(
  json: string,
  passageRows: ArrayBuffer | undefined,
  sectionNames: string,
): Pick<PersistedState, 'meta' | 'lengths'> & { passages: Map<string, Passage[]> } {
  const rows = view(passageRows ?? new ArrayBuffer(0), Int32Array);
  const names = JSON.parse(sectionNames) as string[];
  const passages = new Map<string, Passage[]>();
  const meta: Record<string, DocumentMeta> = {};
  const lengths: Record<string, number> = {};
  let at = 0;
  for (const [docId, detected, count, length] of JSON.parse(json) as PaperPart[]) {
    meta[docId] = detected;
    lengths[docId] = length;
    const read = decodePassages(rows, at, count, docId, names);
    passages.set(docId, read.passages);
    at = read.next;
  }
  if (at !== rows.length) throw new Error('the persisted state has passages of no paper');
  return { passages, meta, lengths };
}

/** The index and what else the engine state holds but its passages, from the state's arrays and texts. */
function decodeIndex(head: StateHead, blobs: Record<string, ArrayBuffer>, texts: Record<string, string>): Omit<EngineState, 'passages'> {
  const blob = (k: string): ArrayBuffer => {
    const b = blobs[k];
    if (!b) throw new Error(`the persisted state lacks ${k}`);
    return b;
  };
  const text = (k: string): string => {
    const t = texts[k];
    if (t === undefined) throw new Error(`the persisted state lacks ${k}`);
    return t;
  };
  const index: IndexSnapshot = {
    count: head.count,
    totalLength: head.totalLength,
    termIds: text('termIds'),
    bigrams: text('bigrams'),
    postingTerms: text('postingTerms'),
    start: view(blob('start'), Int32Array),
    ids: view(blob('ids'), Int32Array),
    slots: view(blob('slots'), Uint8Array),
    lengths: view(blob('lengths'), Int32Array),
    freqOff: view(blob('freqOff'), Int32Array),
    freqLen: view(blob('freqLen'), Int32Array),
    // Left in the file (see deferredTriples).
    triples: new Uint32Array(0),
  };
  const pinyin = text('pinyin');
  return {
    index,
    nextId: head.nextId,
    hanStable: view(blob('hanStable'), Uint8Array),
    pinyinTerms: pinyin === '' ? [] : pinyin.split('\n'),
  };
}
