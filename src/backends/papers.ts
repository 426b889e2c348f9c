/**
 * A library's papers (metadata and canonical text) as `duikou migrate`
 * moves them: read from, and written to, either a library folder (the
 * embedded mode's papers) or a lab server's PostgreSQL index.
 *
 * A folder keeps papers as files, so a paper copied into one is written as
 * its canonical text (`<id>.txt`; a PDF's or DOCX's conversion is what duikou
 * reads, so the text and its offsets stay the same) with its metadata pinned
 * in the folder's `duikou.metadata.json`; sample papers the copy does not
 * hold are hidden in `duikou.library.json`, so an embedded duikou on that data
 * folder serves exactly the copied papers. The lab server keeps papers in its
 * index tables, indexed as its indexing instance would index them.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserInputError } from '../core/errors.js';
import type { LoadedDocument } from '../core/types.js';
import { LIBRARY_STATE_FILE, type Library, listPapers, loadLibrary } from '../library/library.js';
import writeFileAtomic from 'write-file-atomic';
import { METADATA_FILE, type MetadataOverride, metadataEntrySchema } from '../pipeline/metadata-file.js';
import { prepareInWorkers } from '../workers/prepare.js';
import type { PgSearchBackend } from './postgres/search.js';

/** Papers of one library, readable and (when empty) writable. */
export interface PaperShelf {
  /** Where the papers are, for messages. */
  readonly where: string;
  /** Every paper the library serves, sorted by id. */
  papers(): Promise<LoadedDocument[]>;
  /** Whether the library holds no papers of its own (a sample the copy hides does not count), nor metadata of its own. */
  isEmpty(): Promise<boolean>;
  /**
   * Put `docs` into the empty library. On failure, what was written is taken
   * away again before the error is passed on.
   */
  add(docs: readonly LoadedDocument[]): Promise<void>;
  /** Take papers {@link add} put there away again (a copy that failed its check). */
  remove(ids: readonly string[]): Promise<void>;
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A paper id usable as a file name in the folder (ids are file names, so one that is not came from elsewhere). */
function checkFileId(id: string): void {
  if (id === '' || id === '.' || id === '..' || /[/\\\0]/.test(id) || id.startsWith('.duikou-tmp-')) {
    throw new UserInputError('bad_document_id', `The paper id "${id}" cannot be a file name in a library folder (文献编号不能用作文件名)`);
  }
}

/** The metadata entry that pins a paper's metadata when it is read back from its `.txt`. */
function pinned(d: LoadedDocument): MetadataOverride {
  const entry = { title: d.title, authors: d.authors, year: d.year, venue: d.venue, lang: d.lang };
  const ok = metadataEntrySchema.safeParse(entry);
  // The folder's loader applies the same rules; an entry it would reject (or trim) would lose the paper's metadata.
  if (!ok.success || JSON.stringify(ok.data) !== JSON.stringify(entry)) {
    throw new UserInputError(
      'bad_metadata',
      `The metadata of "${d.id}" cannot be written to ${METADATA_FILE} as it is (${ok.success ? 'surrounding spaces' : ok.error.issues[0]?.message}); fix it at the source first (元数据无法写入)`,
    );
  }
  return entry;
}

/** The papers of a library folder (the embedded mode's). */
export function folderShelf(lib: Library): PaperShelf {
  return {
    where: lib.dir,
    async papers() {
      const { documents, errors } = await loadLibrary(lib);
      for (const e of errors) process.stderr.write(`duikou: not copied (it does not load here either): ${e.message}\n`);
      return documents.sort(byId);
    },
    async isEmpty() {
      if (!existsSync(lib.dir)) return true;
      const { papers } = await listPapers({ dir: lib.dir, sample: null });
      return papers.length === 0 && !existsSync(join(lib.dir, METADATA_FILE)) && !existsSync(join(lib.dir, LIBRARY_STATE_FILE));
    },
    async add(docs) {
      for (const d of docs) checkFileId(d.id);
      const overrides = Object.create(null) as Record<string, MetadataOverride>;
      for (const d of docs) overrides[d.id] = pinned(d);
      const ids = new Set(docs.map((d) => d.id));
      const hidden =
        lib.sample === null
          ? []
          : (await listPapers({ dir: lib.sample, sample: null })).papers.map((p) => p.id).filter((id) => !ids.has(id));
      await mkdir(lib.dir, { recursive: true });
      const written: string[] = [];
      try {
        for (const d of docs) {
          // `wx`: never over a file that appeared meanwhile; the cleanup then removes only what this wrote.
          await writeFile(join(lib.dir, `${d.id}.txt`), d.text, { flag: 'wx' });
          written.push(d.id);
        }
        await writeFileAtomic(join(lib.dir, METADATA_FILE), `${JSON.stringify(overrides, null, 2)}\n`);
        await writeFileAtomic(join(lib.dir, LIBRARY_STATE_FILE), `${JSON.stringify({ hidden }, null, 2)}\n`);
      } catch (err) {
        await this.remove(written);
        throw err;
      }
    },
    async remove(ids) {
      const files = [...ids.map((id) => `${id}.txt`), METADATA_FILE, LIBRARY_STATE_FILE];
      await Promise.all(files.map((f) => rm(join(lib.dir, f), { force: true })));
    },
  };
}

/** The papers of a lab server's PostgreSQL index. */
export function pgShelf(search: PgSearchBackend, where: string): PaperShelf {
  return {
    where,
    async papers() {
      return (await search.loadDocuments()).map(({ passages: _passages, ...d }) => d).sort(byId);
    },
    async isEmpty() {
      return (await search.storedMetadata()).size === 0;
    },
    async add(docs) {
      const added: string[] = [];
      try {
        // Segmented and analysed in worker threads, as the indexing instance does.
        for await (const prep of prepareInWorkers(docs)) {
          added.push(prep.doc.id);
          await search.indexDocument(prep);
        }
      } catch (err) {
        await this.remove(added).catch(() => undefined);
        throw err;
      }
    },
    async remove(ids) {
      for (const id of ids) await search.removeDocument(id);
    },
  };
}
