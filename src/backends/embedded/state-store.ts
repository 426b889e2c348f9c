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

/** The table, created with the rest of the schema (see persist.ts). */
export const STATE_SCHEMA = 'CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, data ANY NOT NULL) STRICT;';

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

/**
 * Write the engine's state, replacing the last one, in one transaction.
 * @param metaOf - the metadata detected in a paper (before the researcher's overrides)
 */
export function writeState(db: DB, engine: Engine, metaOf: (id: string, text: string, hash: string) => DocumentMeta): void {
  const state = engine.state();
  const docs = engine.documents();
  const head: StateHead = {
    endianness: endianness(),
    count: state.index.count,
    totalLength: state.index.totalLength,
    nextId: state.nextId,
    zh: [...state.passages.values()].some((list) => list.some((p) => p.lang === 'zh')),
    docs: Object.fromEntries(docs.map((d) => [d.id, d.hash])),
  };
  const passages: Record<string, PassageRow[]> = {};
  for (const [id, list] of state.passages) {
    passages[id] = list.map((p) => [
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
  }
  const meta = Object.fromEntries(docs.map((d) => [d.id, metaOf(d.id, d.text, d.hash)]));
  const put = db.prepare('INSERT INTO state (name, data) VALUES (?, ?)');
  db.transaction(() => {
    db.exec('DELETE FROM state');
    put.run('head', JSON.stringify(head));
    for (const k of TYPED) put.run(k, asBuffer(state.index[k]));
    for (const k of TEXTS) put.run(k, state.index[k]);
    put.run('hanStable', asBuffer(state.hanStable));
    put.run('pinyin', state.pinyinTerms.join('\n'));
    put.run('passages', JSON.stringify(passages));
    put.run('meta', JSON.stringify(meta));
  })();
}

/** The state's head, or null when there is none or it cannot be used on this machine. */
function headOf(db: DB): StateHead | null {
  const row = db.prepare("SELECT data FROM state WHERE name = 'head'").get() as { data: string } | undefined;
  if (!row) return null;
  const head = JSON.parse(row.data) as StateHead;
  return head.endianness === endianness() ? head : null;
}

/**
 * The persisted state's rows and the papers, when the state was taken with
 * exactly the papers the database holds now (all of them complete); otherwise null.
 */
export function readStateRows(db: DB): RawState | null {
  const head = headOf(db);
  if (!head) return null;
  const papers = db.prepare('SELECT id, file, hash, size, text, pages FROM documents').all() as (StoredPaper & { size: number })[];
  // A paper cut short by a crash (its stamp not yet written) has no place in a state.
  if (papers.some((r) => r.size < 0)) return null;
  const ids = Object.keys(head.docs);
  if (ids.length !== papers.length || papers.some((r) => head.docs[r.id] !== r.hash)) return null;
  const blobs: Record<string, Uint8Array> = {};
  const texts: Record<string, string> = {};
  for (const { name, data } of db.prepare("SELECT name, data FROM state WHERE name != 'head'").all() as {
    name: string;
    data: Buffer | string;
  }[]) {
    if (typeof data === 'string') texts[name] = data;
    else blobs[name] = data;
  }
  return { head, blobs, texts, papers: papers.map(({ size: _size, ...p }) => p) };
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
  for (const [docId, list] of Object.entries(JSON.parse(text('passages')) as Record<string, PassageRow[]>)) {
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
    meta: JSON.parse(text('meta')) as Record<string, DocumentMeta>,
  };
}
