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
  /** The papers it was taken with: id → text hash. */
  docs: Record<string, string>;
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
function view<T>(buf: Buffer, Kind: { new (b: ArrayBuffer, o: number, n: number): T; new (n: number): T; BYTES_PER_ELEMENT: number }): T {
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

/** Forget the state (the papers changed under it). */
export function dropState(db: DB): void {
  db.exec('DELETE FROM state');
}

/**
 * The persisted state, when it was taken with exactly these papers (id →
 * text hash); otherwise null.
 */
export function readState(db: DB, papers: ReadonlyMap<string, string>): { state: EngineState; meta: Record<string, DocumentMeta> } | null {
  const headRow = db.prepare("SELECT data FROM state WHERE name = 'head'").get() as { data: string } | undefined;
  if (!headRow) return null;
  const head = JSON.parse(headRow.data) as StateHead;
  if (head.endianness !== endianness()) return null;
  const ids = Object.keys(head.docs);
  if (ids.length !== papers.size || ids.some((id) => papers.get(id) !== head.docs[id])) return null;
  const rows = new Map(
    (db.prepare('SELECT name, data FROM state').all() as { name: string; data: Buffer | string }[]).map((r) => [r.name, r.data]),
  );
  const blob = (k: string): Buffer => {
    const b = rows.get(k);
    if (!Buffer.isBuffer(b)) throw new Error(`the persisted state lacks ${k}`);
    return b;
  };
  const text = (k: string): string => {
    const t = rows.get(k);
    if (typeof t !== 'string') throw new Error(`the persisted state lacks ${k}`);
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
