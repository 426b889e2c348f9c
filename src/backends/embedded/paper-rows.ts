/**
 * A paper's rows in the persisted index — its text, pages and file stamp in
 * `documents`, its analysed passages in `passages` — written as a paper is
 * indexed and read back as the engine takes it, without segmenting or
 * analysing anything; and the metadata detected in each paper, kept so an
 * unchanged paper is not segmented again to find it.
 */
import type { Database as DB } from 'better-sqlite3';
import type { DocumentMeta, Lang, LoadedDocument, PassageKind, Span } from '../../core/types.js';
import type { Engine } from './engine.js';
import { type PreparedDocument } from '../../pipeline/prepare.js';
import { detectMetadata } from '../../pipeline/load.js';
import { type MetadataOverrides, overrideFor } from '../../pipeline/metadata-file.js';
import { readText, writeText } from './texts.js';

/** A row of the `documents` table, with the paper's text read from its parts. */
export interface DocRow {
  id: string;
  file: string;
  size: number;
  mtime_ms: number;
  hash: string;
  text: string;
  pages: string | null;
}

/** A row of the `passages` table. */
interface PassageRow {
  ordinal: number;
  kind: PassageKind;
  lang: Lang;
  section: string | null;
  start: number;
  end: number;
  pieces: string;
  level: number | null;
  terms: string;
  counts: string;
  words: number;
  bigrams: string;
}

/** `meta` with the researcher's overrides for its paper, if any. */
export function applyOverrides(meta: DocumentMeta, overrides: MetadataOverrides): DocumentMeta {
  const o = overrideFor(overrides, meta.id);
  return o ? { ...meta, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } : meta;
}

/** A stored paper as the engine takes it, without segmenting or analysing anything. */
export function fromStore(db: DB, row: DocRow, overrides: MetadataOverrides): PreparedDocument {
  const meta = applyOverrides(
    detectedMetadata(row.id, row.hash, () => row.text),
    overrides,
  );
  const doc: LoadedDocument = { ...meta, text: row.text, hash: row.hash, file: row.file };
  if (row.pages) doc.pages = JSON.parse(row.pages) as LoadedDocument['pages'];
  const rows = db.prepare('SELECT * FROM passages WHERE doc_id = ? ORDER BY ordinal').all(row.id) as PassageRow[];
  return {
    doc,
    passages: rows.map((p) => ({
      passage: {
        docId: row.id,
        ordinal: p.ordinal,
        kind: p.kind,
        lang: p.lang,
        section: p.section,
        start: p.start,
        end: p.end,
        pieces: JSON.parse(p.pieces) as Span[],
        ...(p.level !== null && { level: p.level }),
      },
      terms: p.terms === '' ? [] : p.terms.split(' '),
      counts: p.counts === '' ? [] : p.counts.split(' ').map(Number),
      words: p.words,
      bigrams: p.bigrams === '' ? [] : p.bigrams.split(' '),
    })),
  };
}

/**
 * Serve the papers of the persisted index as they were last indexed, without
 * the corpus folder (it is missing: moved, deleted, or a drive not mounted).
 * Papers already in the engine are left as they are.
 * @returns how many papers were loaded
 */
export function loadFromIndex(engine: Engine, db: DB, overrides: MetadataOverrides): number {
  let n = 0;
  for (const row of db.prepare('SELECT * FROM documents ORDER BY file').all() as Omit<DocRow, 'text'>[]) {
    if (engine.document(row.id)) continue;
    engine.addPrepared(fromStore(db, { ...row, text: readText(db, row.id) }, overrides));
    n++;
  }
  return n;
}

/**
 * Write a paper's row in the index — its text, pages and file stamp —
 * replacing the row of the same id (and, through the foreign key, its
 * passages). Callers wrap it in a transaction with whatever goes with it.
 * @param size - the file's size, -1 while its passages are still being written (see {@link save})
 * @param mtimeMs - the file's modification time, -1 likewise
 */
export function saveDocumentRow(
  db: DB,
  doc: Pick<LoadedDocument, 'id' | 'file' | 'hash' | 'text' | 'pages'>,
  size: number,
  mtimeMs: number,
): void {
  db.prepare('DELETE FROM documents WHERE id = ?').run(doc.id);
  db.prepare('INSERT INTO documents (id, file, size, mtime_ms, hash, pages) VALUES (?, ?, ?, ?, ?, ?)').run(
    doc.id,
    doc.file,
    size,
    mtimeMs,
    doc.hash,
    doc.pages ? JSON.stringify(doc.pages) : null,
  );
  writeText(db, doc.id, doc.text);
}

/** Passages written per transaction by {@link save}. */
const SAVE_BATCH = 200;

/**
 * Store a prepared paper, a batch of passages per transaction with `pause`
 * between them (a large paper must not hold up requests). The paper's file
 * stamp is written last, so a paper cut short by a crash does not look
 * unchanged at the next start and is indexed again.
 */
export async function save(db: DB, prep: PreparedDocument, size: number, mtimeMs: number, pause: () => Promise<void>): Promise<void> {
  const { doc } = prep;
  db.transaction(() => saveDocumentRow(db, doc, -1, -1))();
  const ins = db.prepare(
    `INSERT INTO passages (doc_id, ordinal, kind, lang, section, start, "end", pieces, level, terms, counts, words, bigrams)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const batch = db.transaction((items: PreparedDocument['passages']) => {
    for (const { passage: p, terms, counts, words, bigrams } of items) {
      ins.run(
        doc.id,
        p.ordinal,
        p.kind,
        p.lang,
        p.section,
        p.start,
        p.end,
        JSON.stringify(p.pieces),
        p.level ?? null,
        terms.join(' '),
        counts.join(' '),
        words,
        bigrams.join(' '),
      );
    }
  });
  for (let i = 0; i < prep.passages.length; i += SAVE_BATCH) {
    batch(prep.passages.slice(i, i + SAVE_BATCH));
    await pause();
  }
  db.prepare('UPDATE documents SET size = ?, mtime_ms = ? WHERE id = ?').run(size, mtimeMs, doc.id);
}

/** Detected metadata by document and text hash: a later sync need not segment an unchanged paper again. */
const detected = new Map<string, DocumentMeta>();

/**
 * The metadata detected in a paper (before the researcher's overrides), from
 * the cache when this id and text hash were seen already; `text` is read only
 * when it is not.
 */
export function detectedMetadata(id: string, hash: string, text: () => string): DocumentMeta {
  return detected.get(`${id}\u0000${hash}`) ?? remember(id, hash, detectMetadata(id, text()));
}

/** Keep what was detected in a paper (see {@link detectedMetadata}). */
export function remember(id: string, hash: string, meta: DocumentMeta): DocumentMeta {
  if (detected.size >= 100_000) detected.clear();
  detected.set(`${id}\u0000${hash}`, meta);
  return meta;
}
