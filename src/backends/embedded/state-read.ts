/**
 * Reading the persisted engine state back (see state-store.ts): only when it
 * was taken with exactly the papers the index holds and its file is the one
 * its head names, each array with one read into a buffer of its own, the
 * large ones on the thread pool while the papers' passages are decoded.
 */
import { closeSync, fstatSync, openSync, read, readSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Database as DB } from 'better-sqlite3';
import type { DocumentMeta, Passage } from '../../core/types.js';
import type { IndexSnapshot } from '../../pipeline/index.js';
import type { EngineState } from './engine.js';
import { HEADER_BYTES, type PaperPart, type StateHead, TYPED, fileOf, header, headOf, stateDir } from './state-format.js';

/** A paper as the documents table holds it, but its text (read when needed, see texts.ts). */
export interface StoredPaper {
  id: string;
  file: string;
  hash: string;
  pages: string | null;
}

/** The bytes of a blob as a typed array, copied only when not aligned for it. */
function view<T>(
  buf: Uint8Array,
  Kind: { new (b: ArrayBuffer, o: number, n: number): T; new (n: number): T; BYTES_PER_ELEMENT: number },
): T {
  if (buf.byteLength % Kind.BYTES_PER_ELEMENT !== 0) throw new Error('the persisted state has an array of a broken length');
  const n = buf.byteLength / Kind.BYTES_PER_ELEMENT;
  if (buf.byteOffset % Kind.BYTES_PER_ELEMENT === 0) return new Kind(buf.buffer as ArrayBuffer, buf.byteOffset, n);
  const copy = new Uint8Array(buf.byteLength);
  copy.set(buf);
  return new Kind(copy.buffer, 0, n);
}

/** Read exactly `into.byteLength` bytes at `position`; false when the file ends first. */
function readAll(fd: number, into: Uint8Array, position: number): boolean {
  for (let done = 0; done < into.byteLength;) {
    const n = readSync(fd, into, done, into.byteLength - done, position + done);
    if (n === 0) return false;
    done += n;
  }
  return true;
}

/** Read all of `into` at `position` on the thread pool; false when the file ends first. */
async function readAllAsync(fd: number, into: Uint8Array, position: number): Promise<boolean> {
  for (let done = 0; done < into.byteLength;) {
    const { bytesRead } = await readAsync(fd, into, done, into.byteLength - done, position + done);
    if (bytesRead === 0) return false;
    done += bytesRead;
  }
  return true;
}

const readAsync = promisify(read);

/** The arrays read on the thread pool while the papers are decoded: at 100 MB nearly all the state's bytes. */
const LARGE = new Set(['ids', 'slots', 'triples']);

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
}

/**
 * The persisted state, when it was taken with exactly the papers the
 * database holds now (all of them complete) and its file is the one its head
 * names (there, of the size recorded, written by the same write); otherwise
 * null. Each array is read with one read into a buffer of its own (aligned
 * for any typed array); the large ones on the thread pool while the papers'
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
    const h = Buffer.alloc(HEADER_BYTES);
    if (!readAll(fd, h, 0) || !h.equals(header(Buffer.from(head.token, 'hex'), head.size, gen))) return null;
    const blobs: Record<string, Uint8Array> = {};
    const texts: Record<string, string> = {};
    for (const [offset, bytes] of Object.values(head.sections)) {
      if (offset % 8 !== 0 || offset < HEADER_BYTES || offset + bytes > head.size) return null;
    }
    for (const [name, [offset, bytes]] of Object.entries(head.sections)) {
      // A buffer of its own (not from Node's pool, not zero-filled first): offset 0, aligned for any typed array.
      const into = Buffer.allocUnsafeSlow(bytes);
      if (LARGE.has(name)) {
        reads.push(readAllAsync(fd, into, offset));
        blobs[name] = into;
      } else if (!readAll(fd, into, offset)) return null;
      else if ((TYPED as readonly string[]).includes(name) || name === 'hanStable') blobs[name] = into;
      else texts[name] = into.toString('utf8');
    }
    // The main thread's own work while the thread pool reads the large arrays.
    whileReading?.(head);
    const papers = decodePapers(texts.papers ?? '[]');
    if (!(await Promise.all(reads)).every(Boolean)) return null;
    return {
      state: { ...decodeIndex(head, blobs, texts), passages: papers.passages },
      papers: rows.map(({ size: _size, ...p }) => p),
      meta: papers.meta,
      lengths: papers.lengths,
      zh: head.zh,
    };
  } finally {
    // Never closed under a read still running (one that failed early, the others still reading).
    await Promise.allSettled(reads);
    closeSync(fd);
  }
}

/** Each paper's passages, detected metadata and text length, from the state's list of papers. */
function decodePapers(json: string): Pick<PersistedState, 'meta' | 'lengths'> & { passages: Map<string, Passage[]> } {
  const passages = new Map<string, Passage[]>();
  const meta: Record<string, DocumentMeta> = {};
  const lengths: Record<string, number> = {};
  for (const [docId, detected, list, length] of JSON.parse(json) as PaperPart[]) {
    meta[docId] = detected;
    lengths[docId] = length;
    passages.set(
      docId,
      list.map(([id, ordinal, kind, lang, section, start, end, flat, level]) => {
        const pieces = [];
        for (let i = 0; i < flat.length; i += 2) pieces.push({ start: flat[i]!, end: flat[i + 1]! });
        const p: Passage = { docId, ordinal, kind, lang, section, start, end, pieces, id };
        if (level !== null) p.level = level;
        return p;
      }),
    );
  }
  return { passages, meta, lengths };
}

/** The index and what else the engine state holds but its passages, from the state's arrays and texts. */
function decodeIndex(head: StateHead, blobs: Record<string, Uint8Array>, texts: Record<string, string>): Omit<EngineState, 'passages'> {
  const blob = (k: string): Uint8Array => {
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
    triples: view(blob('triples'), Uint32Array),
  };
  const pinyin = text('pinyin');
  return {
    index,
    nextId: head.nextId,
    hanStable: view(blob('hanStable'), Uint8Array),
    pinyinTerms: pinyin === '' ? [] : pinyin.split('\n'),
  };
}
