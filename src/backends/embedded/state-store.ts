/**
 * The engine's state in the persisted index (`index.db`, table `state`): the
 * posting lists, passage lengths and packed frequencies as the binary buffers
 * of their typed arrays, the passages of each paper as one JSON text, and the
 * metadata detected in each paper. A restart reads these back as they are
 * (see `Engine.restore`) instead of adding every passage again.
 *
 * The state names the papers (by id and text hash) it was taken with; it is
 * used only when the index's list of papers is exactly that, so a state
 * behind or ahead of the papers is never misread, only ignored (and written
 * again after the sync).
 */
import { endianness } from 'node:os';
import type { Database as DB } from 'better-sqlite3';
import type { DocumentMeta, Passage, PassageKind, Lang } from '../../core/types.js';
import type { IndexSnapshot } from '../../pipeline/index.js';
import type { Engine, EngineState } from './engine.js';

/**
 * The table, created with the rest of the schema (see persist.ts). A state is
 * written under a new generation `gen`, in parts of a few megabytes over many
 * turns of the event loop, and its `head` row last, in one small transaction:
 * the state read is the newest generation with a head, so a write cut short
 * (the process ending, a crash) leaves the one before it in force. Rows of any
 * other generation are left-overs, deleted by the next write. (The table
 * `state` held the whole state in one transaction's rows before.)
 */
export const STATE_SCHEMA = `DROP TABLE IF EXISTS state;
  CREATE TABLE IF NOT EXISTS state_part (
    gen INTEGER NOT NULL, name TEXT NOT NULL, part INTEGER NOT NULL, data ANY NOT NULL, PRIMARY KEY (gen, name, part)
  ) STRICT;`;

/** Bytes of a typed array, and characters of a text, per row: one row is written in a few milliseconds. */
const PART_BYTES = 256 << 10;
const PART_CHARS = 128 << 10;

/** What the state says about itself (the `head` row). */
interface StateHead {
  /** Typed arrays are written in the machine's byte order: another order means rebuild. */
  endianness: string;
  count: number;
  totalLength: number;
  nextId: number;
  /** Whether any passage is Chinese (a restart then loads jieba at once). */
  zh: boolean;
  /** The papers it was taken with: id → text hash. */
  docs: Record<string, string>;
}

/** A paper as the documents table holds it. */
export interface StoredPaper {
  id: string;
  file: string;
  hash: string;
  text: string;
  pages: string | null;
}

/** The state's rows and the papers' texts as read from the database, before decoding. */
export interface RawState {
  head: StateHead;
  blobs: Record<string, Uint8Array>;
  texts: Record<string, string>;
  /** Each paper's detected metadata and passages, as JSON (see {@link PaperPart}). */
  paperRows: string[];
  papers: StoredPaper[];
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
  const n = buf.byteLength / Kind.BYTES_PER_ELEMENT;
  if (buf.byteOffset % Kind.BYTES_PER_ELEMENT === 0) return new Kind(buf.buffer as ArrayBuffer, buf.byteOffset, n);
  const copy = new Uint8Array(buf.byteLength);
  copy.set(buf);
  return new Kind(copy.buffer, 0, n);
}

/** A paper's row in the state: its detected metadata and its passages. */
type PaperPart = [id: string, meta: DocumentMeta, passages: PassageRow[]];

/** Options of {@link writeStateGradually}. */
export interface GradualWrite {
  /** Let the event loop answer requests (a `setImmediate`). */
  pause: () => Promise<void>;
  /** Work done between two pauses, at most (about; one step may overrun it by a few milliseconds). */
  sliceMs?: number;
  /** Takes of the engine's state abandoned because it changed meanwhile, before giving up. */
  attempts?: number;
}

/**
 * Write the engine's state as a new generation, then make it the current
 * one, one step at a time (each step a few milliseconds: a part of the
 * snapshot, one row); between steps the caller may let other work run.
 * The engine must not change while its state is being taken — the steps
 * before the first row is written: the caller checks its
 * `stateGeneration` and abandons the writer otherwise. Abandoned anywhere,
 * the previous state stays the current one.
 * @param metaOf - the metadata detected in a paper (before the researcher's overrides)
 * @returns whether the state was written (false: the engine changed while it was being taken)
 */
export function* stateWriter(
  db: DB,
  engine: Engine,
  metaOf: (id: string, text: string, hash: string) => DocumentMeta,
): Generator<void | 'switched', boolean> {
  // Left-overs first: rows of a write cut short.
  const current = currentGen(db);
  yield* dropAllBut(db, current);
  const taken = engine.stateGeneration;
  const state = yield* engine.stateSteps();
  const docs = engine.documents();
  if (engine.stateGeneration !== taken) return false;
  const gen = (current ?? 0) + 1;
  const put = db.prepare('INSERT INTO state_part (gen, name, part, data) VALUES (?, ?, ?, ?)');
  // Each row commits on its own; waiting for the disk at each commit (an fsync, tens of milliseconds on a
  // busy disk) would hold the event loop up. WAL keeps every commit atomic without it: a power cut may
  // lose the last few, and the state before is then used — as when the process ends mid-write.
  const sync = db.pragma('synchronous', { simple: true }) as number;
  db.pragma('synchronous = NORMAL');
  try {
    yield* writeRows();
  } finally {
    db.pragma(`synchronous = ${sync}`);
  }
  yield 'switched';
  // The state replaced, a few rows at a time (cut short, the next write drops the rest).
  yield* dropAllBut(db, gen);
  return true;

  function* writeRows(): Generator<void, void> {
    const head: StateHead = {
      endianness: endianness(),
      count: state.index.count,
      totalLength: state.index.totalLength,
      nextId: state.nextId,
      zh: [...state.passages.values()].some((list) => list.some((p) => p.lang === 'zh')),
      docs: Object.fromEntries(docs.map((d) => [d.id, d.hash])),
    };
    const blobs: Array<[string, ArrayBufferView]> = [
      ...TYPED.map((k): [string, ArrayBufferView] => [k, state.index[k]]),
      ['hanStable', state.hanStable],
    ];
    for (const [name, array] of blobs) {
      const bytes = asBuffer(array);
      // At least one row, so an empty array reads back as empty rather than missing.
      for (let at = 0, part = 0; part === 0 || at < bytes.byteLength; at += PART_BYTES, part++) {
        put.run(gen, name, part, bytes.subarray(at, at + PART_BYTES));
        yield;
      }
    }
    const texts: Array<[string, string]> = [
      ...TEXTS.map((k): [string, string] => [k, state.index[k]]),
      ['pinyin', state.pinyinTerms.join('\n')],
    ];
    for (const [name, text] of texts) {
      for (let at = 0, part = 0; part === 0 || at < text.length; at += PART_CHARS, part++) {
        // Never split a surrogate pair between two rows: each row is stored as UTF-8.
        let end = Math.min(text.length, at + PART_CHARS);
        if (end < text.length && /[\uDC00-\uDFFF]/.test(text[end]!)) end++;
        put.run(gen, name, part, text.slice(at, end));
        at = end - PART_CHARS;
        yield;
      }
    }
    for (const [part, d] of docs.entries()) {
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
      const row: PaperPart = [d.id, metaOf(d.id, d.text, d.hash), rows];
      put.run(gen, 'paper', part, JSON.stringify(row));
      yield;
    }
    // The switch: the new head in, the old one out, in one small transaction.
    db.transaction(() => {
      db.prepare("DELETE FROM state_part WHERE name = 'head'").run();
      put.run(gen, 'head', 0, JSON.stringify(head));
    })();
  }
}

/**
 * Write the engine's state, replacing the last one, without letting the
 * event loop wait for more than about `sliceMs` (see {@link stateWriter}).
 * Writes to the same database run one after the other, and a write asked for
 * while another waits to start is that one: a burst of edits writes once or twice.
 * @returns whether the state was written (false: the engine kept changing while its state was taken)
 */
export function writeStateGradually(
  db: DB,
  engine: Engine,
  metaOf: (id: string, text: string, hash: string) => DocumentMeta,
  opts: GradualWrite,
): Promise<boolean> {
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

async function runGradually(
  db: DB,
  engine: Engine,
  metaOf: (id: string, text: string, hash: string) => DocumentMeta,
  { pause, sliceMs = 20, attempts = 3 }: GradualWrite,
): Promise<boolean> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const steps = stateWriter(db, engine, metaOf);
    const taken = engine.stateGeneration;
    let switched = false;
    let sliceStart = performance.now();
    for (let step = steps.next(); ; step = steps.next()) {
      if (step.done) {
        if (step.value) return true;
        break;
      }
      if (step.value === 'switched') switched = true;
      if (performance.now() - sliceStart < sliceMs) continue;
      await pause();
      sliceStart = performance.now();
      // Changed meanwhile: what is being written is already out of date (its rows stay unused); start again.
      if (!switched && engine.stateGeneration !== taken) {
        steps.return(false);
        break;
      }
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
export function writeState(db: DB, engine: Engine, metaOf: (id: string, text: string, hash: string) => DocumentMeta): void {
  const steps = stateWriter(db, engine, metaOf);
  for (let step = steps.next(); !step.done; step = steps.next());
}

/** Delete the rows of every generation but `keep` (all of them when null), a few rows per step. */
function* dropAllBut(db: DB, keep: number | null): Generator<void, void> {
  const rows = db.prepare('SELECT rowid AS r FROM state_part WHERE gen != ? LIMIT 4').pluck();
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

/** The current state's generation and head, or null when there is none or it cannot be used on this machine. */
function headOf(db: DB): { gen: number; head: StateHead } | null {
  const row = db.prepare("SELECT gen, data FROM state_part WHERE name = 'head' ORDER BY gen DESC LIMIT 1").get() as
    { gen: number; data: string } | undefined;
  if (!row) return null;
  const head = JSON.parse(row.data) as StateHead;
  return head.endianness === endianness() ? { gen: row.gen, head } : null;
}

/**
 * The persisted state's rows and the papers, when the state was taken with
 * exactly the papers the database holds now (all of them complete); otherwise null.
 */
export function readStateRows(db: DB): RawState | null {
  const current = headOf(db);
  if (!current) return null;
  const { gen, head } = current;
  const papers = db.prepare('SELECT id, file, hash, size, text, pages FROM documents').all() as (StoredPaper & { size: number })[];
  // A paper cut short by a crash (its stamp not yet written) has no place in a state.
  if (papers.some((r) => r.size < 0)) return null;
  const ids = Object.keys(head.docs);
  if (ids.length !== papers.length || papers.some((r) => head.docs[r.id] !== r.hash)) return null;
  const blobParts = new Map<string, Buffer[]>();
  const textParts = new Map<string, string[]>();
  const paperRows: string[] = [];
  for (const { name, data } of db
    .prepare("SELECT name, data FROM state_part WHERE gen = ? AND name != 'head' ORDER BY name, part")
    .all(gen) as {
    name: string;
    data: Buffer | string;
  }[]) {
    if (name === 'paper') paperRows.push(data as string);
    else if (typeof data === 'string') textParts.set(name, (textParts.get(name) ?? []).concat(data));
    else blobParts.set(name, (blobParts.get(name) ?? []).concat(data));
  }
  const blobs: Record<string, Uint8Array> = {};
  const texts: Record<string, string> = {};
  // One part is used as read; several are copied into one buffer (of their own, so aligned for any typed array).
  for (const [name, parts] of blobParts) blobs[name] = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  for (const [name, parts] of textParts) texts[name] = parts.join('');
  return { head, blobs, texts, paperRows, papers: papers.map(({ size: _size, ...p }) => p) };
}

/** The engine state and detected metadata of a {@link RawState}. */
export function decodeState(raw: RawState): { state: EngineState; meta: Record<string, DocumentMeta> } {
  const { head, blobs, texts } = raw;
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
  const passages = new Map<string, Passage[]>();
  const meta: Record<string, DocumentMeta> = {};
  for (const json of raw.paperRows) {
    const [docId, detected, list] = JSON.parse(json) as PaperPart;
    meta[docId] = detected;
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
  const pinyin = text('pinyin');
  return {
    state: {
      index,
      passages,
      nextId: head.nextId,
      hanStable: view(blob('hanStable'), Uint8Array),
      pinyinTerms: pinyin === '' ? [] : pinyin.split('\n'),
    },
    meta,
  };
}
