/**
 * The persisted engine state's layout, shared by its writer (state-store.ts)
 * and its reader (state-read.ts): the table of heads, the state file's header
 * and sections, the rows the papers' passages are written as, and where the
 * files are and which generation is current.
 */
import { readdirSync } from 'node:fs';
import { endianness } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Database as DB } from 'better-sqlite3';
import { type DocumentMeta, type Lang, PASSAGE_KINDS, type Passage, type Span } from '../../core/types.js';

/**
 * The table, created with the rest of the schema (see index-db.ts). It holds
 * the `head` row of each state written: a state is written under a new
 * generation `gen` to its file, a few megabytes per step over many turns of
 * the event loop, made durable (fsync) and renamed into place; its `head` row
 * goes in last, in one small transaction: the state read is the newest
 * generation with a head, so a write cut short (the process ending, a crash)
 * leaves the one before it in force. Files and rows of any other generation
 * are left-overs, deleted by the next write. A head of another layout is
 * ignored (see {@link headOf}); the first layout kept the state's arrays in
 * rows of this table, deleted by the next write.
 */
export const STATE_SCHEMA = `DROP TABLE IF EXISTS state;
  CREATE TABLE IF NOT EXISTS state_part (
    gen INTEGER NOT NULL, name TEXT NOT NULL, part INTEGER NOT NULL, data ANY NOT NULL, PRIMARY KEY (gen, name, part)
  ) STRICT;`;

/** The layout of the state file and head; a head of another layout is ignored (the state is then written again). */
export const STATE_LAYOUT = 3;
/** The state file's header: magic, layout, token, size and generation (see {@link header}). */
export const HEADER_BYTES = 64;
const MAGIC = 'DKSTATE\u0000';

/** Where a part of the state is in its file: byte offset (a multiple of 8) and length. */
export type Section = [offset: number, bytes: number];

/** What the state says about itself (the `head` row). */
export interface StateHead {
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

/**
 * Languages as the state numbers them (passage kinds: {@link PASSAGE_KINDS}):
 * a persisted numbering, so a language is only ever appended.
 */
const LANG_CODES: readonly Lang[] = ['en', 'zh'];

/** Numbers a passage takes in the `passages` section before its pieces. */
const FIXED = 7;

/**
 * Append the rows of a paper's passages to `out`, as the `passages` section
 * holds them (32-bit integers): id, ordinal, kind | language << 8 |
 * (level + 1) << 16, section (its number in the state's list of section
 * names, -1 for none), start, end and the number of pieces; then each
 * piece's start and end. Numbers rather than JSON: a gigabyte of papers has
 * 1.2 million passages, and parsing them from 137 MB of JSON was two of the
 * restart's seven seconds.
 * @param nameOf - the number of a section name (given one when first seen)
 */
export function encodePassages(list: readonly Passage[], nameOf: (section: string) => number, out: number[]): void {
  for (const p of list) {
    const kind = PASSAGE_KINDS.indexOf(p.kind);
    const lang = LANG_CODES.indexOf(p.lang);
    if (kind < 0 || lang < 0) throw new Error(`passage ${p.id} has a kind or language the state cannot hold`);
    out.push(p.id, p.ordinal, kind | (lang << 8) | (((p.level ?? -1) + 1) << 16), p.section === null ? -1 : nameOf(p.section));
    out.push(p.start, p.end, p.pieces.length);
    for (const piece of p.pieces) out.push(piece.start, piece.end);
  }
}

/**
 * A paper's `n` passages from the `passages` section (see
 * {@link encodePassages}) starting at number `at`, and the number where the
 * next paper's passages start; an Error when the section does not hold them
 * (the state is then not read, never misread).
 */
export function decodePassages(
  rows: Int32Array,
  at: number,
  n: number,
  docId: string,
  names: readonly string[],
): { passages: Passage[]; next: number } {
  const passages: Passage[] = new Array<Passage>(n);
  for (let i = 0; i < n; i++) {
    if (at + FIXED > rows.length) throw new Error('the persisted state ends within its passages');
    const codes = rows[at + 2]!;
    const kind = PASSAGE_KINDS[codes & 0xff];
    const lang = LANG_CODES[(codes >> 8) & 0xff];
    const level = (codes >> 16) - 1;
    const sectionNo = rows[at + 3]!;
    const section = sectionNo === -1 ? null : names[sectionNo];
    const count = rows[at + 6]!;
    if (kind === undefined || lang === undefined || section === undefined || count < 0 || at + FIXED + 2 * count > rows.length) {
      throw new Error('the persisted state has a broken passage');
    }
    const pieces: Span[] = new Array<Span>(count);
    for (let k = 0; k < count; k++) pieces[k] = { start: rows[at + FIXED + 2 * k]!, end: rows[at + FIXED + 2 * k + 1]! };
    // The fields in the order a passage built from its paper has them: one shape for both.
    const p: Passage = {
      docId,
      ordinal: rows[at + 1]!,
      kind,
      lang,
      section,
      start: rows[at + 4]!,
      end: rows[at + 5]!,
      pieces,
      id: rows[at]!,
    };
    if (level >= 0) p.level = level;
    passages[i] = p;
    at += FIXED + 2 * count;
  }
  return { passages, next: at };
}

/** The index snapshot's typed arrays, each a section of the file of its own (its bytes as they are). */
export const TYPED = ['start', 'ids', 'slots', 'lengths', 'freqOff', 'freqLen', 'triples'] as const;
/** The index snapshot's texts, each a section of the file of its own (in UTF-8). */
export const TEXTS = ['termIds', 'bigrams', 'postingTerms'] as const;

/**
 * A paper's entry in the state's `papers` list: its detected metadata, how
 * many passages it has in the `passages` section (in the list's order), and
 * its text's length (UTF-16 code units).
 */
export type PaperPart = [id: string, meta: DocumentMeta, passages: number, length: number];

/** The folder of the state files: the database's own (none for a database in memory). */
export function stateDir(db: DB): string | null {
  return db.memory ? null : dirname(resolve(db.name));
}

/** The name of generation `gen`'s state file: a head is used only when it names this one (see readState). */
export const fileOf = (gen: number): string => `state-${gen}.bin`;

/** The state file's header: what it is, and which write made it. */
export function header(token: Buffer, size: number, gen: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.write(MAGIC, 0, 'latin1');
  h.writeUInt32LE(STATE_LAYOUT, 8);
  token.copy(h, 16);
  h.writeDoubleLE(size, 32);
  h.writeDoubleLE(gen, 40);
  return h;
}

/** State files (and files of writes cut short) in `dir` but `keep`: left-overs to delete. */
export function filesBut(dir: string, keep: string | null): string[] {
  return readdirSync(dir)
    .filter((f) => /^state-\d+\.bin(\.tmp)?$/.test(f) && f !== keep)
    .map((f) => join(dir, f));
}

/** The generation of the current state (with a head), or null when there is none. */
export function currentGen(db: DB): number | null {
  const gen = db.prepare("SELECT max(gen) FROM state_part WHERE name = 'head'").pluck().get() as number | null;
  return gen ?? null;
}

/** The current state's generation and head, or null when there is none or it cannot be used (another layout, byte order). */
export function headOf(db: DB): { gen: number; head: StateHead } | null {
  const row = db.prepare("SELECT gen, data FROM state_part WHERE name = 'head' ORDER BY gen DESC LIMIT 1").get() as
    { gen: number; data: string } | undefined;
  if (!row) return null;
  const head = JSON.parse(row.data) as StateHead;
  return head.layout === STATE_LAYOUT && head.endianness === endianness() ? { gen: row.gen, head } : null;
}
