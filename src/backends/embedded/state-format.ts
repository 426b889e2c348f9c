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
import type { DocumentMeta, PassageKind, Lang } from '../../core/types.js';

/**
 * The table, created with the rest of the schema (see index-db.ts). It holds
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
export const STATE_LAYOUT = 2;
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

/** A passage without its document id, as a row of numbers and strings. */
export type PassageRow = [
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

/** The index snapshot's typed arrays, each a section of the file of its own (its bytes as they are). */
export const TYPED = ['start', 'ids', 'slots', 'lengths', 'freqOff', 'freqLen', 'triples'] as const;
/** The index snapshot's texts, each a section of the file of its own (in UTF-8). */
export const TEXTS = ['termIds', 'bigrams', 'postingTerms'] as const;

/** A paper's entry in the state: its detected metadata, its passages and its text's length (UTF-16 code units). */
export type PaperPart = [id: string, meta: DocumentMeta, passages: PassageRow[], length: number];

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
