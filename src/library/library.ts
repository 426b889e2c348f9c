/**
 * Where the papers are read from and where duikou writes: the library.
 *
 * With `DUIKOU_CORPUS` unset, duikou reads two folders. The sample papers
 * shipped in the package's `corpus/` are read only: duikou never writes
 * there, so using the app never changes the repository. The user's own
 * library is `DUIKOU_DATA/library/`: papers they add, the metadata they edit
 * (`duikou.metadata.json`, merged field by field over the sample's) and the
 * glossary pairs they add (`duikou.glossary.tsv`, added to the sample's) live
 * there. A library paper with the id of a sample paper takes its place; a
 * sample paper the user removes is listed as hidden in the library's
 * `duikou.library.json` and left out (delete its id there to bring it back).
 *
 * With `DUIKOU_CORPUS` set, that folder is the whole library: papers, metadata
 * and glossary are read from it and written to it, and there is no sample.
 */
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserInputError } from '../core/errors.js';
import { setting } from '../core/settings.js';
import type { LoadedDocument } from '../core/types.js';
import writeFileAtomic from 'write-file-atomic';
import { containedImporter } from '../workers/contained.js';
import { GLOSSARY_FILE, type Glossary, createGlossary, loadGlossary, normalizeGlossaryTerm } from '../pipeline/glossary.js';
import { type LoadError, listCorpusFiles } from '../pipeline/load.js';
import { METADATA_FILE, type MetadataOverrides, noOverrides, readMetadataOverrides } from '../pipeline/metadata-file.js';

/** The sample papers shipped with duikou (the package's `corpus/`), read only. */
export const SAMPLE_DIR = fileURLToPath(new URL('../../corpus', import.meta.url));

/** The library's own state (hidden sample papers), beside its papers. */
export const LIBRARY_STATE_FILE = 'duikou.library.json';

/** The folders duikou reads papers from and the one it writes to. */
export interface Library {
  /** Where added papers, metadata edits and glossary additions are written (and read first). */
  dir: string;
  /** A read-only folder of sample papers read beneath `dir`, or null. */
  sample: string | null;
}

/** The library the settings describe (see the module comment). */
export function resolveLibrary(env: NodeJS.ProcessEnv = process.env): Library {
  const own = setting('DUIKOU_CORPUS', env);
  if (own !== '') return { dir: own, sample: null };
  return { dir: join(setting('DUIKOU_DATA', env), 'library'), sample: SAMPLE_DIR };
}

/** A folder given as a string is a library of its own, without a sample. */
export function asLibrary(corpus: string | Library): Library {
  return typeof corpus === 'string' ? { dir: corpus, sample: null } : corpus;
}

/** The folders to read, the library's own first. */
export function libraryFolders(lib: Library): string[] {
  return lib.sample !== null ? [lib.dir, lib.sample] : [lib.dir];
}

/** One paper file of the library. */
export interface PaperFile {
  /** Folder it is in. */
  dir: string;
  /** File name inside `dir`. */
  file: string;
  /** Document id: the name without its extension. */
  id: string;
  /** Whether it is one of the read-only sample papers. */
  sample: boolean;
}

const stateSchema = z.object({ hidden: z.array(z.string()).default([]) }).loose();

/** The library's state file: which sample papers the user removed. */
export async function readLibraryState(lib: Library): Promise<{ hidden: string[] }> {
  const path = join(lib.dir, LIBRARY_STATE_FILE);
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { hidden: [] };
    throw err;
  }
  let parsed;
  try {
    parsed = stateSchema.safeParse(JSON.parse(raw));
  } catch (err) {
    throw new UserInputError('bad_library_state', `${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!parsed.success) throw new UserInputError('bad_library_state', `${path}: "hidden" must be a list of document ids`);
  return parsed.data;
}

/**
 * Leave a sample paper out from now on, by listing it in the library's state
 * file; the sample folder is not touched.
 */
export async function hideSample(lib: Library, id: string): Promise<void> {
  const state = await readLibraryState(lib);
  if (state.hidden.includes(id)) return;
  const next = { ...state, hidden: [...state.hidden, id] };
  await writeFileAtomic(join(lib.dir, LIBRARY_STATE_FILE), `${JSON.stringify(next, null, 2)}\n`);
}

async function filesOf(dir: string, mayBeMissing: boolean): Promise<string[]> {
  try {
    return await listCorpusFiles(dir);
  } catch (err) {
    // duikou's own library folder is made on first use; until then it has no papers. A folder the
    // user chose (DUIKOU_CORPUS) that is missing is an error: its papers must not look removed.
    if (mayBeMissing && (err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * The papers of the library, one per id, in file-name order within each
 * folder. Two files of one folder with the same id (`probe.docx`,
 * `probe.pdf`): the first in name order is the paper, the other is reported
 * (`duplicate_id`) and not read. A library paper hides a sample paper with
 * its id; hidden sample papers are left out.
 */
export async function listPapers(lib: Library): Promise<{ papers: PaperFile[]; errors: LoadError[] }> {
  const hidden = new Set(lib.sample !== null ? (await readLibraryState(lib)).hidden : []);
  const papers: PaperFile[] = [];
  const errors: LoadError[] = [];
  const taken = new Set<string>();
  for (const dir of libraryFolders(lib)) {
    const sample = dir === lib.sample;
    const here = new Map<string, string>();
    for (const file of await filesOf(dir, lib.sample !== null)) {
      const id = file.slice(0, file.length - extname(file).length);
      const first = here.get(id);
      if (first !== undefined) {
        errors.push({
          file,
          message: `${file} has the same id "${id}" as ${first}, which is the one loaded; rename or remove one of them (文件名重复，已载入 ${first})`,
          code: 'duplicate_id',
        });
        continue;
      }
      here.set(id, file);
      if (taken.has(id) || (sample && hidden.has(id))) continue;
      taken.add(id);
      papers.push({ dir, file, id, sample });
    }
  }
  return { papers, errors };
}

/**
 * The name a data file of the library is shown under in messages and problems:
 * the bare name when there is one folder, its path when there are two (so the
 * user knows which of them to fix).
 */
export function dataFileName(lib: Library, dir: string, name: string): string {
  return lib.sample === null ? name : join(dir, name);
}

/**
 * The metadata overrides of the library: the sample's, with the library's own merged over them field by field.
 * @throws FileProblemError `bad_metadata` naming the broken file (its path when the library has a sample), line and column
 */
export async function readLibraryOverrides(lib: Library): Promise<MetadataOverrides> {
  const own = await readMetadataOverrides(lib.dir, dataFileName(lib, lib.dir, METADATA_FILE));
  if (lib.sample === null) return own;
  // Without a prototype, as every overrides object: an id such as `__proto__` is an entry like any other.
  const out = noOverrides();
  const base = await readMetadataOverrides(lib.sample, dataFileName(lib, lib.sample, METADATA_FILE));
  for (const [id, o] of Object.entries(base)) out[id] = o;
  for (const [id, o] of Object.entries(own)) out[id] = { ...(Object.hasOwn(out, id) ? out[id] : {}), ...o };
  return out;
}

/**
 * The glossary of the library: the sample's pairs, then the library's own that are not already there.
 * @throws FileProblemError `bad_glossary` naming the broken file (its path when the library has a sample) and line
 */
export function loadLibraryGlossary(lib: Library): Glossary {
  const own = loadGlossary(lib.dir, dataFileName(lib, lib.dir, GLOSSARY_FILE));
  if (lib.sample === null) return own;
  const base = loadGlossary(lib.sample, dataFileName(lib, lib.sample, GLOSSARY_FILE));
  const key = (e: { zh: string; en: string }) => `${normalizeGlossaryTerm(e.zh)}\t${normalizeGlossaryTerm(e.en)}`;
  const seen = new Set(base.entries.map(key));
  return createGlossary([...base.entries, ...own.entries.filter((e) => !seen.has(key(e)))]);
}

/**
 * Load every paper of the library (see {@link listPapers}), or of a corpus
 * folder given by its path, collecting an error per file that cannot be
 * loaded instead of failing the whole library. One file at a time: each goes
 * through the contained importer, whose one worker converts one file at a time.
 * @throws UserInputError `bad_metadata` when a `duikou.metadata.json` is invalid
 */
export async function loadLibrary(corpus: string | Library): Promise<{ documents: LoadedDocument[]; errors: LoadError[] }> {
  const lib = asLibrary(corpus);
  const overrides = await readLibraryOverrides(lib);
  const { papers, errors } = await listPapers(lib);
  const documents: LoadedDocument[] = [];
  for (const p of papers) {
    try {
      // In the contained worker: a hostile file fails there, by name, and the others load.
      documents.push((await containedImporter().load(p.dir, p.file, overrides, false)).doc);
    } catch (err) {
      const e = err as Error;
      errors.push(
        err instanceof UserInputError
          ? { file: p.file, message: e.message, code: err.code }
          : { file: p.file, message: `${p.file} could not be imported: ${e?.message ?? String(err)} (导入失败)`, code: 'internal' },
      );
    }
  }
  return { documents, errors };
}
