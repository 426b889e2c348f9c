/**
 * The engine's state in the persisted index: the posting lists, passage
 * lengths and packed frequencies as the bytes of their typed arrays, the
 * passages of each paper, and the metadata detected in each paper. A restart
 * reads these back as they are (see `Engine.restore`) instead of adding every
 * passage again.
 *
 * The state is a file beside `index.db` (`state-<generation>.bin`), named by
 * a small `head` row in the database: at 100 MB it holds about 450 MB of typed
 * arrays, and a restart reads each array with one read into a buffer of its
 * own — no rows, no copies — where reading them from SQLite rows and joining
 * the parts took over a second.
 *
 * The state names the papers (by id and text hash) it was taken with; it is
 * used only when the index's list of papers is exactly that, so a state
 * behind or ahead of the papers is never misread, only ignored (and written
 * again after the sync). A file that is missing, shorter or longer than its
 * head says, or written by another write (its header's token) is ignored the
 * same way.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsync, fsyncSync, openSync, read, readSync, readdirSync, renameSync, rm, rmSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { rm as rmAsync } from 'node:fs/promises';
import type { Database as DB } from 'better-sqlite3';
import type { CorpusDocument, DocumentMeta, Passage, PassageKind, Lang } from '../../core/types.js';
import type { IndexSnapshot } from '../../pipeline/index.js';
import type { Engine, EngineState } from './engine.js';
import { PaperTexts, textLength } from './texts.js';

/**
 * The table, created with the rest of the schema (see persist.ts). It holds
 * the `head` row of each state written: a state is written under a new
 * generation `gen` to its file, a few megabytes per step over many turns of
 * the event loop, made durable (fsync) and renamed into place; its `head` row
 * goes in last, in one small transaction: the state read is the newest
 * generation with a head, so a write cut short (the process ending, a crash)
 * leaves the one before it in force. Files and rows of any other generation
 * are left-overs, deleted by the next write. (Earlier layouts kept the
 * state's arrays in rows of this table; their heads lack `layout` 2 and are
 * ignored, their rows deleted by the next write.)
 */
export const STATE_SCHEMA = `DROP TABLE IF EXISTS state;
  CREATE TABLE IF NOT EXISTS state_part (
    gen INTEGER NOT NULL, name TEXT NOT NULL, part INTEGER NOT NULL, data ANY NOT NULL, PRIMARY KEY (gen, name, part)
  ) STRICT;`;

/** The layout of the state file and head; a head of another layout is ignored (the state is then written again). */
const STATE_LAYOUT = 2;
/** The state file's header: magic, layout, token, size and generation (see {@link header}). */
const HEADER_BYTES = 64;
const MAGIC = 'DKSTATE\u0000';
/** Bytes of a typed array, and characters of a text, written per step: a step takes a few milliseconds. */
const STEP_BYTES = 4 << 20;
const STEP_CHARS = 1 << 20;

/** Where a part of the state is in its file: byte offset (a multiple of 8) and length. */
type Section = [offset: number, bytes: number];

/** What the state says about itself (the `head` row). */
interface StateHead {
  layout: number;
  /** Typed arrays are written in the machine's byte order: another order means rebuild. */
  endianness: string;
  count: number;
  totalLength: number;
  nextId: number;
  /** Whether any passage is Chinese (a restart then loads jieba at once). */
  zh: boolean;
  /** The papers it was taken with: id → text hash. */
  docs: Record<string, string>;
  /** The state's file, beside the database, and its size. */
  file: string;
  size: number;
  /** Random bytes (hex) also in the file's header: a file of another write is never read as this one. */
  token: string;
  sections: Record<string, Section>;
}

/** A paper as the documents table holds it, but its text (read when needed, see texts.ts). */
export interface StoredPaper {
  id: string;
  file: string;
  hash: string;
  pages: string | null;
}

/** A passage without its document id, as a row of numbers and strings. */
type PassageRow = [
  id: number,
  ordinal: number,
  kind: PassageKind,
  lang: Lang,
  section: string | null,
  start: number,
  end: number,
  pieces: number[],
  level: number | null,
];

const TYPED = ['start', 'ids', 'slots', 'lengths', 'freqOff', 'freqLen', 'triples'] as const;
const TEXTS = ['termIds', 'bigrams', 'postingTerms'] as const;

const asBuffer = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

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

/** A paper's entry in the state: its detected metadata, its passages and its text's length (UTF-16 code units). */
type PaperPart = [id: string, meta: DocumentMeta, passages: PassageRow[], length: number];

/**
 * The metadata detected in a paper (before the researcher's overrides); `text`
 * reads the paper's text, which it need not do when that is known already.
 */
export type MetaOf = (id: string, hash: string, text: () => string) => DocumentMeta;

/**
 * A step of {@link stateWriter}: nothing (the caller may pause), `switched`
 * (the new state is the current one), a file to make durable or files to
 * delete, which the caller does (off the event loop when it can) before the
 * next step.
 */
export type WriteStep = void | 'switched' | { fsync: number } | { remove: string[] };

/** Options of {@link writeStateGradually}. */
export interface GradualWrite {
  /** Let the event loop answer requests (a `setImmediate`). */
  pause: () => Promise<void>;
  /** Work done between two pauses, at most (about; one step may overrun it by a few milliseconds). */
  sliceMs?: number;
  /** Takes of the engine's state abandoned because it changed meanwhile, before giving up. */
  attempts?: number;
}

/** The folder of the state files: the database's own (none for a database in memory). */
function stateDir(db: DB): string | null {
  return db.memory ? null : dirname(resolve(db.name));
}

const fileOf = (gen: number): string => `state-${gen}.bin`;

/** Write all of `bytes` at `position`. */
function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  for (let done = 0; done < bytes.byteLength;) {
    done += writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
  }
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

/** The state file's header: what it is, and which write made it. */
function header(token: Buffer, size: number, gen: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.write(MAGIC, 0, 'latin1');
  h.writeUInt32LE(STATE_LAYOUT, 8);
  token.copy(h, 16);
  h.writeDoubleLE(size, 32);
  h.writeDoubleLE(gen, 40);
  return h;
}

/** State files (and files of writes cut short) in `dir` but `keep`: left-overs to delete. */
function filesBut(dir: string, keep: string | null): string[] {
  return readdirSync(dir)
    .filter((f) => /^state-\d+\.bin(\.tmp)?$/.test(f) && f !== keep)
    .map((f) => join(dir, f));
}

/** A text's UTF-8 bytes, a part at a time (never splitting a surrogate pair). */
function* textParts(text: string): Generator<Uint8Array, void> {
  for (let at = 0; at < text.length;) {
    let end = Math.min(text.length, at + STEP_CHARS);
    if (end < text.length && /[\uDC00-\uDFFF]/.test(text[end]!)) end++;
    yield Buffer.from(text.slice(at, end), 'utf8');
    at = end;
  }
}

/** A typed array's bytes, a part at a time (views, not copies). */
function* arrayParts(array: ArrayBufferView): Generator<Uint8Array, void> {
  const bytes = asBuffer(array);
  for (let at = 0; at < bytes.byteLength; at += STEP_BYTES) yield bytes.subarray(at, at + STEP_BYTES);
}

/**
 * Write the engine's state as a new generation, then make it the current
 * one, one step at a time (each step a few milliseconds: a part of the
 * snapshot, a few megabytes of the file); between steps the caller may let
 * other work run, and makes the files it is given durable (see {@link WriteStep}).
 * The engine must not change while its state is being taken — the steps
 * before the file is written: the caller checks its `stateGeneration` and
 * abandons the writer otherwise. Abandoned anywhere, the previous state stays
 * the current one.
 * @param metaOf - the metadata detected in a paper (before the researcher's overrides)
 * @returns whether the state was written (false: the engine changed while it was being taken, or the database is in memory)
 */
export function* stateWriter(db: DB, engine: Engine, metaOf: MetaOf): Generator<WriteStep, boolean> {
  const dir = stateDir(db);
  if (dir === null) return false;
  // Left-overs first: rows and files of a write cut short, rows of an earlier layout.
  const current = currentGen(db);
  yield* dropAllBut(db, current);
  yield { remove: filesBut(dir, current === null ? null : fileOf(current)) };
  const taken = engine.stateGeneration;
  const state = yield* engine.stateSteps();
  const docs = engine.documents();
  if (engine.stateGeneration !== taken) return false;
  const gen = (current ?? 0) + 1;
  const file = fileOf(gen);
  const tmp = join(dir, `${file}.tmp`);
  const token = randomBytes(16);
  const sections: Record<string, Section> = {};
  let fd: number | null = openSync(tmp, 'w');
  let renamed = false;
  let size = HEADER_BYTES;
  try {
    const section = function* (name: string, parts: Iterable<Uint8Array>): Generator<void, void> {
      // Every section starts at a multiple of 8, so it can be read into a buffer of its own for any typed array.
      size = Math.ceil(size / 8) * 8;
      const from = size;
      for (const bytes of parts) {
        writeAll(fd!, bytes, size);
        size += bytes.byteLength;
        yield;
      }
      sections[name] = [from, size - from];
    };
    for (const k of TYPED) yield* section(k, arrayParts(state.index[k]));
    yield* section('hanStable', arrayParts(state.hanStable));
    for (const k of TEXTS) yield* section(k, textParts(state.index[k]));
    yield* section('pinyin', textParts(state.pinyinTerms.join('\n')));
    yield* section('papers', paperParts());
    writeAll(fd, header(token, size, gen), 0);
    yield { fsync: fd };
    closeSync(fd);
    fd = null;
    renameSync(tmp, join(dir, file));
    renamed = true;
    // The rename itself made durable before the head names the file.
    const dirFd = openSync(dir, 'r');
    try {
      yield { fsync: dirFd };
    } finally {
      closeSync(dirFd);
    }
    const head: StateHead = {
      layout: STATE_LAYOUT,
      endianness: endianness(),
      count: state.index.count,
      totalLength: state.index.totalLength,
      nextId: state.nextId,
      zh: [...state.passages.values()].some((list) => list.some((p) => p.lang === 'zh')),
      docs: Object.fromEntries(docs.map((d) => [d.id, d.hash])),
      file,
      size,
      token: token.toString('hex'),
      sections,
    };
    // The switch: the new head in, the old one out, in one small transaction.
    db.transaction(() => {
      db.prepare("DELETE FROM state_part WHERE name = 'head'").run();
      db.prepare("INSERT INTO state_part (gen, name, part, data) VALUES (?, 'head', 0, ?)").run(gen, JSON.stringify(head));
    })();
  } finally {
    if (fd !== null) closeSync(fd);
    // Deleting hundreds of megabytes may take a while: on the thread pool (a left-over is deleted at the next start anyway).
    if (!renamed) rm(tmp, { force: true }, () => {});
  }
  yield 'switched';
  // The state replaced: its file and rows go.
  yield { remove: filesBut(dir, file) };
  yield* dropAllBut(db, gen);
  // Now persisted, the engine holds it as a restart would: its postings in the state's typed arrays, and
  // the papers' texts read from the index when used. At 100 MB a build otherwise keeps 7 bytes of heap
  // per byte of text, a restart 2.
  if (yield* engine.settleSteps(state, taken)) readTextsFromIndex(db, docs, engine);
  return true;

  /** The papers' detected metadata and passages as one JSON array, about a megabyte per part. */
  function* paperParts(): Generator<Uint8Array, void> {
    let pending = '[';
    for (const [i, d] of docs.entries()) {
      const rows = (state.passages.get(d.id) ?? []).map((p): PassageRow => [
        p.id,
        p.ordinal,
        p.kind,
        p.lang,
        p.section,
        p.start,
        p.end,
        p.pieces.flatMap((s) => [s.start, s.end]),
        p.level ?? null,
      ]);
      const row: PaperPart = [d.id, metaOf(d.id, d.hash, () => d.text), rows, textLength(d)];
      pending += (i > 0 ? ',' : '') + JSON.stringify(row);
      // A step per paper (detecting a paper's metadata may take a few milliseconds), a write per megabyte.
      if (pending.length >= STEP_CHARS) {
        yield Buffer.from(pending, 'utf8');
        pending = '';
      } else yield new Uint8Array(0);
    }
    yield Buffer.from(`${pending}]`, 'utf8');
  }
}

/** The texts of each index database's papers, read when used (one cache per database). */
const paperTexts = new WeakMap<DB, PaperTexts>();

/** The {@link PaperTexts} of an index database's papers. */
export function textsOf(db: DB): PaperTexts {
  let texts = paperTexts.get(db);
  if (!texts) {
    texts = new PaperTexts(db);
    paperTexts.set(db, texts);
  }
  return texts;
}

/**
 * Let the engine's papers among `docs` whose text the index database holds
 * (same id and hash) read it from there when used, instead of keeping it in
 * memory: their rows are replaced only after their text is held again (see
 * `holdText`).
 */
function readTextsFromIndex(db: DB, docs: readonly CorpusDocument[], engine: Engine): void {
  const stored = new Map(
    (db.prepare('SELECT id, hash FROM documents WHERE size >= 0').all() as { id: string; hash: string }[]).map((r) => [r.id, r.hash]),
  );
  const texts = textsOf(db);
  for (const d of docs) {
    if (engine.document(d.id) !== d || stored.get(d.id) !== d.hash) continue;
    const own = Object.getOwnPropertyDescriptor(d, 'text');
    if (!own || own.get || !own.configurable) continue;
    texts.lazy(d, d.id, d.hash, d.text.length);
  }
}

/**
 * Write the engine's state, replacing the last one, without letting the
 * event loop wait for more than about `sliceMs` (see {@link stateWriter});
 * files are made durable off the event loop.
 * Writes to the same database run one after the other, and a write asked for
 * while another waits to start is that one: a burst of edits writes once or twice.
 * @returns whether the state was written (false: the engine kept changing while its state was taken)
 */
export function writeStateGradually(db: DB, engine: Engine, metaOf: MetaOf, opts: GradualWrite): Promise<boolean> {
  const q = writes.get(db) ?? { running: Promise.resolve(true), next: null };
  writes.set(db, q);
  if (q.next) return q.next;
  const next = q.running
    .catch(() => false)
    .then(() => {
      q.next = null;
      return runGradually(db, engine, metaOf, opts);
    });
  q.next = next;
  q.running = next;
  return next;
}

/** The write running on each database, and the one waiting to start (see {@link writeStateGradually}). */
const writes = new WeakMap<DB, { running: Promise<boolean>; next: Promise<boolean> | null }>();

const fsyncAsync = promisify(fsync);

async function runGradually(db: DB, engine: Engine, metaOf: MetaOf, { pause, sliceMs = 20, attempts = 3 }: GradualWrite): Promise<boolean> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const steps = stateWriter(db, engine, metaOf);
    const taken = engine.stateGeneration;
    let switched = false;
    let sliceStart = performance.now();
    try {
      for (let step = steps.next(); ; step = steps.next()) {
        if (step.done) {
          if (step.value) return true;
          break;
        }
        if (step.value === 'switched') switched = true;
        else if (step.value) {
          // Waiting for the disk (hundreds of megabytes at 100 MB) on the thread pool, not the event loop.
          await ('fsync' in step.value ? fsyncAsync(step.value.fsync) : removeAll(step.value.remove));
          sliceStart = performance.now();
        }
        if (performance.now() - sliceStart < sliceMs) continue;
        await pause();
        sliceStart = performance.now();
        // Changed meanwhile: what is being written is already out of date (its file is deleted); start again.
        if (!switched && engine.stateGeneration !== taken) break;
      }
    } finally {
      // Abandoned or failed: the writer closes and deletes what it wrote.
      steps.return(false);
    }
    await pause();
  }
  return false;
}

/**
 * Write the engine's state, replacing the last one, at once: for a process
 * that serves nothing meanwhile (and tests).
 * @param metaOf - the metadata detected in a paper (before the researcher's overrides)
 */
export function writeState(db: DB, engine: Engine, metaOf: MetaOf): void {
  const steps = stateWriter(db, engine, metaOf);
  for (let step = steps.next(); !step.done; step = steps.next()) {
    if (!step.value || step.value === 'switched') continue;
    if ('fsync' in step.value) fsyncSync(step.value.fsync);
    else for (const f of step.value.remove) rmSync(f, { force: true });
  }
}

/** Delete the rows but the head of generation `keep` (all of them when null), a few rows per step. */
function* dropAllBut(db: DB, keep: number | null): Generator<void, void> {
  const rows = db.prepare("SELECT rowid AS r FROM state_part WHERE gen != ? OR name != 'head' LIMIT 4").pluck();
  const drop = db.prepare('DELETE FROM state_part WHERE rowid = ?');
  for (let found = rows.all(keep ?? -1) as number[]; found.length > 0; found = rows.all(keep ?? -1) as number[]) {
    db.transaction(() => found.forEach((r) => drop.run(r)))();
    yield;
  }
}

/** The generation of the current state (with a head), or null when there is none. */
function currentGen(db: DB): number | null {
  const gen = db.prepare("SELECT max(gen) FROM state_part WHERE name = 'head'").pluck().get() as number | null;
  return gen ?? null;
}

/** The current state's generation and head, or null when there is none or it cannot be used (another layout, byte order). */
function headOf(db: DB): { gen: number; head: StateHead } | null {
  const row = db.prepare("SELECT gen, data FROM state_part WHERE name = 'head' ORDER BY gen DESC LIMIT 1").get() as
    { gen: number; data: string } | undefined;
  if (!row) return null;
  const head = JSON.parse(row.data) as StateHead;
  return head.layout === STATE_LAYOUT && head.endianness === endianness() ? { gen: row.gen, head } : null;
}

/**
 * Delete left-over state files (of writes cut short, of states replaced)
 * beside the database: all but the current state's. A start does this at
 * once rather than leaving hundreds of megabytes until the next write.
 */
export async function dropLeftoverFiles(db: DB): Promise<void> {
  const dir = stateDir(db);
  if (dir === null) return;
  const gen = currentGen(db);
  await removeAll(filesBut(dir, gen === null ? null : fileOf(gen)));
}

/** Delete files on the thread pool (a file of hundreds of megabytes may take a while). */
const removeAll = (files: string[]): Promise<unknown> => Promise.all(files.map((f) => rmAsync(f, { force: true })));

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
