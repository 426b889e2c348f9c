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
 * the parts took over a second (the largest, the triples, once it answers:
 * see state-read.ts).
 *
 * The state names the papers (by id and text hash) it was taken with; it is
 * used only when the index's list of papers is exactly that, so a state
 * behind or ahead of the papers is never misread, only ignored (and written
 * again after the sync). A file that is missing, shorter or longer than its
 * head says, or written by another write (its header's token) is ignored the
 * same way.
 *
 * This module writes the state; its layout is in state-format.ts, and
 * reading it back in state-read.ts.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsync, fsyncSync, openSync, renameSync, rm, rmSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { rm as rmAsync } from 'node:fs/promises';
import type { Database as DB } from 'better-sqlite3';
import type { CorpusDocument, DocumentMeta } from '../../core/types.js';
import type { Engine } from './engine.js';
import { cutsOf } from '../../pipeline/analyze.js';
import { type KnownCut, preloadJieba } from '../../pipeline/jieba.js';
import {
  HEADER_BYTES,
  type PaperPart,
  STATE_LAYOUT,
  type Section,
  type StateHead,
  TEXTS,
  TYPED,
  currentGen,
  encodePassages,
  fileOf,
  filesBut,
  header,
  stateDir,
} from './state-format.js';
import { textLength, textsOf } from './texts.js';

/** Bytes of a typed array, and characters of a text, written per step: a step takes a few milliseconds. */
const STEP_BYTES = 4 << 20;
const STEP_CHARS = 1 << 20;

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

/** Write all of `bytes` at `position`. */
function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  for (let done = 0; done < bytes.byteLength;) {
    done += writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
  }
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

/**
 * A typed array's bytes, a part at a time (views, not copies), each made
 * from the array's buffer: a byte view of the whole array cannot exist past
 * 4 GiB on Node 20, and the postings of a few gigabytes of papers pass that.
 */
function* arrayParts(array: ArrayBufferView): Generator<Uint8Array, void> {
  for (let at = 0; at < array.byteLength; at += STEP_BYTES) {
    yield new Uint8Array(array.buffer, array.byteOffset + at, Math.min(STEP_BYTES, array.byteLength - at));
  }
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
  const zh = [...state.passages.values()].some((list) => list.some((p) => p.lang === 'zh'));
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
    const names = new Map<string, number>();
    yield* section('passages', passageParts(names));
    yield* section('sectionNames', textParts(JSON.stringify([...names.keys()])));
    yield* section('papers', paperParts());
    // Only with Chinese papers: a restart loads jieba at once then, and an English-only library never needs it.
    if (zh) yield* section('cuts', cutParts());
    // The cuts the papers that are not Chinese were analysed with: free to keep (made while preparing them).
    const kept = engine.keptCuts();
    const papersCuts = docs.flatMap((d) => {
      const cuts = kept.get(d.id);
      return cuts === undefined ? [] : [[d.id, cuts] as const];
    });
    if (papersCuts.length > 0) yield* section('paperCuts', textParts(JSON.stringify(papersCuts)));
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
      zh,
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

  /**
   * jieba's cuts of the short texts a query analyses besides its own words
   * (see Engine.queryTexts), as one JSON array: a restart gives them without
   * asking jieba, so it answers queries that need no Chinese words of their
   * own while jieba's dictionary is still loading (see persist-restore.ts).
   */
  function* cutParts(): Generator<Uint8Array, void> {
    const cuts = new Map<string, KnownCut>();
    const keep = (text: string): void => {
      for (const c of cutsOf(text)) cuts.set(c[1], c);
    };
    for (const text of engine.queryTexts()) {
      keep(text);
      yield new Uint8Array(0);
    }
    // The titles detected in the papers too: a restart with the researcher's titles removed shows these.
    // A step per paper: each cut not yet made crosses to jieba's thread (8,000 papers at a gigabyte).
    for (const d of docs) {
      keep(metaOf(d.id, d.hash, () => d.text).title);
      yield new Uint8Array(0);
    }
    yield Buffer.from(JSON.stringify([...cuts.values()]), 'utf8');
  }

  /** Every paper's passages (see encodePassages), in the order of {@link docs}, a megabyte or so per part. */
  function* passageParts(names: Map<string, number>): Generator<Uint8Array, void> {
    const nameOf = (section: string): number => {
      let n = names.get(section);
      if (n === undefined) names.set(section, (n = names.size));
      return n;
    };
    let pending: number[] = [];
    for (const d of docs) {
      encodePassages(state.passages.get(d.id) ?? [], nameOf, pending);
      if (pending.length * Int32Array.BYTES_PER_ELEMENT >= STEP_BYTES / 4) {
        yield new Uint8Array(Int32Array.from(pending).buffer);
        pending = [];
      }
    }
    yield new Uint8Array(Int32Array.from(pending).buffer);
  }

  /** The papers' detected metadata, passage counts and text lengths as one JSON array, about a megabyte per part. */
  function* paperParts(): Generator<Uint8Array, void> {
    let pending = '[';
    for (const [i, d] of docs.entries()) {
      const row: PaperPart = [d.id, metaOf(d.id, d.hash, () => d.text), state.passages.get(d.id)?.length ?? 0, textLength(d)];
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
  // Triples a restart left on disk are read off the event loop first: the snapshot needs them all.
  await engine.loadDeferred();
  // A state with Chinese papers keeps jieba's cuts of titles and glossary terms (see cutParts): jieba loaded
  // first, on its own thread where it has one, rather than while this thread waits in the middle of the write.
  if (engine.documents().some((d) => d.passages.some((p) => p.lang === 'zh'))) await preloadJieba();
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
