/**
 * Adding, describing and removing papers from the app: uploads into the
 * library folder, metadata edits into its `duikou.metadata.json`, and removal
 * out of the folder into `DUIKOU_DATA/removed/`. The researcher's files are
 * never destroyed: a replaced or removed paper is moved aside, not deleted.
 * The read-only sample papers (see `library.ts`) are never written: a paper
 * added with a sample paper's id takes its place, and a removed sample paper
 * is hidden through the library's state file.
 *
 * - `POST /api/documents` (multipart, field `files`, `replace=1` to overwrite)
 * - `PATCH /api/documents/:id` (JSON: title, authors, year, venue, lang)
 * - `DELETE /api/documents/:id[?deleteAnnotations=1]`
 * - the same as forms for pages without JavaScript: `POST /documents`,
 *   `POST /documents/:id/metadata`, `POST /documents/:id/remove`, each
 *   redirecting back with a message in the query string.
 *
 * Papers are written atomically (a hidden temp file in the corpus folder,
 * then a rename), so the folder watcher never reads half a file, and checked
 * by importing them before they go in, so a file that cannot be read is
 * reported by name and changes nothing. The paper functions are shared with
 * `duikou add`.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, lstat, mkdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import express, { type Request, type Response, Router } from 'express';
import multer from 'multer';
import { UserInputError } from '../core/errors.js';
import { withKeyLock } from '../core/keyed-lock.js';
import type { DocumentMeta } from '../core/types.js';
import { containedImporter } from '../workers/contained.js';
import type { Engine } from '../backends/embedded/engine.js';
import { type Library, asLibrary, hideSample, listPapers } from '../library/library.js';
import {
  applyMetadataPatch,
  metadataFromForm,
  parseMetadataPatch,
  type MetadataPatch,
  writeMetadataOverride,
} from '../library/metadata.js';
import type { SyncStats } from '../backends/embedded/persist.js';
import { IMPORT_EXTENSIONS, MAX_FILE_BYTES } from '../pipeline/import/index.js';
import { UPLOAD_TEMP_PREFIX } from '../library/uploads.js';
import type { AnnotationStore } from '../store/annotations.js';
import { documentSummary } from './api.js';
import type { AppDeps, UploadLimits } from './deps.js';
import { storageUserError } from './errors.js';
import type { FlashMessages } from './flash.js';
import { flag } from './params.js';
import { type Translator, localMessage, tr, translator } from './i18n.js';

/** Most files in one upload request. */
export const MAX_UPLOAD_FILES = 20;

/** Largest paper accepted, in bytes: what the importers read (200 MB). */
export const MAX_UPLOAD_FILE_BYTES = MAX_FILE_BYTES;

/** Extensions of the papers duikou reads, lower case with the dot, as `listCorpusFiles` accepts them. */
export const PAPER_EXTENSIONS: readonly string[] = [...IMPORT_EXTENSIONS];

/** Longest file name accepted, in UTF-8 bytes (file systems allow 255). */
const MAX_NAME_BYTES = 200;

/** Characters that reorder how text is shown (bidirectional controls), as in U+202E RIGHT-TO-LEFT OVERRIDE. */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const BIDI_CONTROLS_ALL = new RegExp(BIDI_CONTROLS.source, 'gu');

/** Names Windows keeps for devices, whatever the extension (`CON.txt`, `com1.pdf`, `LPT¹.md`). */
const WINDOWS_RESERVED = /^(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/iu;

const mb = (n: number): string => `${Math.round((n / 1024 / 1024) * 10) / 10} MB`;

/**
 * The corpus file name for a name a browser or a command line gave: its last
 * path segment, in Unicode NFC, with control characters and characters other
 * systems forbid (`<>:"|?*`) turned into `_`.
 * @throws UserInputError `bad_file_name` (400) for a hidden name, an Office
 *   lock file, duikou's own `duikou.*` files, an empty or overlong name, a name
 *   with bidirectional controls (U+202E …) or one Windows keeps for devices (`CON.txt`);
 *   `unsupported_format` (415) for an extension duikou does not read
 */
export function sanitizePaperName(raw: string): string {
  const last = raw.replace(/\\/g, '/').split('/').pop() ?? '';
  const name = last
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f<>:"|?*]/g, '_')
    .trim();
  const shown = JSON.stringify(raw);
  if (name === '' || name === '.' || name === '..') throw new UserInputError('bad_file_name', `${shown} is not a file name (文件名无效)`);
  if (BIDI_CONTROLS.test(name)) {
    // U+202E and its kin reorder what is shown: "report", U+202E, "txt.exe" shows as "reportexe.txt".
    // A name must show what the file is.
    throw new UserInputError(
      'bad_file_name',
      `${JSON.stringify(name.replace(BIDI_CONTROLS_ALL, (c) => `U+${c.charCodeAt(0).toString(16).toUpperCase()}`))}: the name holds invisible text-direction characters, which can disguise a file's real name; rename it (文件名含有控制文字方向的隐藏字符)`,
    );
  }
  const stem = name.split('.')[0]!.trim();
  if (WINDOWS_RESERVED.test(stem)) {
    throw new UserInputError(
      'bad_file_name',
      `${name}: ${stem.toUpperCase()} is a device name on Windows, where such a file cannot be opened or copied; rename it (该文件名在 Windows 中保留)`,
    );
  }
  if (name.startsWith('.')) {
    throw new UserInputError('bad_file_name', `${name}: hidden files (names starting with ".") cannot be papers (不接受隐藏文件)`);
  }
  if (name.startsWith('~$')) throw new UserInputError('bad_file_name', `${name} is an Office lock file, not a paper (临时锁定文件)`);
  if (name.toLowerCase().startsWith('duikou.')) {
    throw new UserInputError(
      'bad_file_name',
      `${name}: names starting with "duikou." are kept for duikou's own files; rename it (文件名保留)`,
    );
  }
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
    throw new UserInputError('bad_file_name', `${name.slice(0, 60)}…: the file name is too long; shorten it (文件名过长)`);
  }
  const ext = extname(name).toLowerCase();
  if (!IMPORT_EXTENSIONS.has(ext) || name.length === ext.length) {
    throw new UserInputError(
      'unsupported_format',
      `${name}: duikou cannot read ${ext ? `${ext} files` : 'files without an extension'}; it reads ${PAPER_EXTENSIONS.join(', ')} (不支持的文件格式)`,
      415,
    );
  }
  return name;
}

/** Document id of a corpus file: its name without the extension. */
export const idOfFile = (name: string): string => name.slice(0, name.length - extname(name).length);

/** How ids are compared for clashes: case- and form-insensitively (some file systems are). */
const clashKey = (id: string): string => id.normalize('NFC').toLowerCase();

/** Where a paper is kept until it is moved into the corpus folder. */
export interface IncomingPaper {
  /** Sanitised corpus file name. */
  name: string;
  /** Temp file in the corpus folder holding its bytes. */
  tempPath: string;
}

/** What the paper functions work on. */
export interface PaperLibrary {
  /** The folder papers are written to (the library's own). */
  corpusDir: string;
  /** The read-only sample folder read beneath it, if any. */
  sampleDir?: string | null;
  dataDir: string;
  engine(): Engine;
  /** Bring the engine in line with the corpus folder (and re-anchor/orphan annotations). */
  sync(): Promise<SyncStats | null>;
  store?: AnnotationStore;
}

/** A paper that went in. */
export interface AddedPaper extends ReturnType<typeof documentSummary> {
  file: string;
  status: 'added' | 'replaced';
  /** Where the replaced version was moved (relative to the data folder). */
  previous?: string;
}

/** A file that did not go in, and why. */
export interface PaperError {
  file: string;
  code: string;
  message: string;
}

/** A temp path in the corpus folder for a paper on its way in (hidden, so never read as a paper). */
export function tempPaperPath(corpusDir: string): string {
  return join(corpusDir, `${UPLOAD_TEMP_PREFIX}${randomBytes(12).toString('hex')}`);
}

/** The library a {@link PaperLibrary} reads. */
const libraryOfPapers = (lib: Pick<PaperLibrary, 'corpusDir' | 'sampleDir'>): Library => ({
  dir: lib.corpusDir,
  sample: lib.sampleDir ?? null,
});

/** Move a file, copying across file systems where a rename cannot. */
async function move(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(from, to);
    await unlink(from);
  }
}

/**
 * Move a corpus file into `dataDir/removed/<timestamp>-<file>`.
 * @returns the new path relative to the data folder (`removed/…`)
 */
export async function moveToRemoved(lib: Pick<PaperLibrary, 'corpusDir' | 'dataDir'>, file: string): Promise<string> {
  const dir = join(lib.dataDir, 'removed');
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  let target = `${stamp}-${file}`;
  for (let i = 1; await exists(join(dir, target)); i++) target = `${stamp}-${i}-${file}`;
  await move(join(lib.corpusDir, file), join(dir, target));
  return `removed/${target}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The existing papers (of the library, sample papers included) that papers
 * with these names would overwrite or clash with (same id, whatever the
 * extension or letter case).
 */
export async function findClashes(corpus: string | Library, names: readonly string[]): Promise<Map<string, string>> {
  const existing = new Map<string, string>();
  for (const p of (await listPapers(asLibrary(corpus))).papers) existing.set(clashKey(p.id), p.file);
  const out = new Map<string, string>();
  for (const n of names) {
    const e = existing.get(clashKey(idOfFile(n)));
    if (e !== undefined) out.set(n, e);
  }
  return out;
}

/**
 * Put papers into the corpus folder and index them. All are checked first:
 * two with one id, or one that would overwrite a paper without `replace`,
 * refuses the whole batch and nothing is written. Each paper is then read
 * with its importer; one that cannot be read is reported by name and left
 * out. The others are renamed into place (a replaced version is moved to
 * `removed/` first) and the corpus is synced. Temp files are always cleaned up.
 * @throws UserInputError `duplicate_name` (400), `file_exists` or `name_taken` (409: a folder has the name), or
 *   `unreadable_file` (422) when no paper could be read
 */
export async function addPapers(
  lib: PaperLibrary,
  incoming: readonly IncomingPaper[],
  replace: boolean,
): Promise<{ documents: AddedPaper[]; errors: PaperError[] }> {
  try {
    if (incoming.length === 0) throw new UserInputError('no_files', 'Choose at least one paper to add (请选择要添加的文献)');
    const byId = new Map<string, string>();
    for (const p of incoming) {
      const other = byId.get(clashKey(idOfFile(p.name)));
      if (other !== undefined) {
        throw new UserInputError(
          'duplicate_name',
          `${other} and ${p.name} would be the same paper "${idOfFile(p.name)}"; add one of them (文件名重复)`,
        );
      }
      byId.set(clashKey(idOfFile(p.name)), p.name);
    }

    // One change to a corpus folder at a time in this process: each checks the folder, then moves files into or out of it.
    const placed = await withKeyLock(lib.corpusDir, async () => {
      const clashes = await findClashes(
        libraryOfPapers(lib),
        incoming.map((p) => p.name),
      );
      if (clashes.size > 0 && !replace) {
        const list = [...clashes].map(([n, e]) => (n === e ? n : `${n} (as ${e})`)).join(', ');
        const names = [...clashes.keys()].join('、');
        // The form's own words for the way out (the API's and the command line's after them), in both languages.
        throw new UserInputError(
          'file_exists',
          `Already in the corpus: ${list}. Tick "Replace papers with the same name" (replace=1 in the API, --replace on the command line) ` +
            `to put the new version in its place; the old one is kept in the data folder's removed/ ` +
            `（文献库中已有：${names}。勾选“替换同名文献”即以新版本替换，旧文件保留在数据文件夹的 removed/ 中）`,
          409,
        );
      }
      for (const p of incoming) {
        const there = await lstat(join(lib.corpusDir, p.name)).catch(() => null);
        if (there && !there.isFile()) {
          throw new UserInputError(
            'name_taken',
            `The corpus folder holds a ${there.isDirectory() ? 'folder' : 'non-file entry'} named ${p.name}; rename or move it, then add the paper (同名文件夹已存在)`,
            409,
          );
        }
      }
      const errors: PaperError[] = [];
      const ok: { name: string; replaced: boolean; previous?: string }[] = [];
      for (const p of incoming) {
        try {
          if ((await stat(p.tempPath)).size === 0) throw new UserInputError('empty_file', `${p.name} is empty (文件为空)`);
          // Converted once, in the contained worker; the sync below indexes this very conversion.
          await containedImporter().parseRemembered(p.tempPath, p.name);
        } catch (err) {
          const e = err as Error;
          errors.push({
            file: p.name,
            code: err instanceof UserInputError ? err.code : 'unreadable_file',
            message: err instanceof UserInputError ? e.message : `${p.name} cannot be read: ${e.message} (无法读取该文件)`,
          });
          await rm(p.tempPath, { force: true });
          continue;
        }
        const old = clashes.get(p.name);
        // A sample paper is not moved: the new one, in the library, takes its place.
        const previous = old !== undefined && (await exists(join(lib.corpusDir, old))) ? await moveToRemoved(lib, old) : undefined;
        try {
          await rename(p.tempPath, join(lib.corpusDir, p.name));
        } catch (err) {
          // The new version could not take its place: put the old one back, so the paper (and
          // what is annotated on it) does not leave the library.
          if (previous !== undefined) await move(join(lib.dataDir, previous), join(lib.corpusDir, old!));
          throw err;
        }
        ok.push({ name: p.name, replaced: old !== undefined, ...(previous !== undefined && { previous }) });
      }
      return { ok, errors };
    });

    if (placed.ok.length === 0) {
      throw new UserInputError('unreadable_file', placed.errors.map((e) => e.message).join('; '), 422);
    }
    const stats = (await lib.sync()) ?? null;
    const engine = lib.engine();
    const documents: AddedPaper[] = [];
    const errors = [...placed.errors];
    for (const p of placed.ok) {
      const id = idOfFile(p.name);
      const d = engine.document(id);
      const e = stats?.errors.find((x) => x.file === p.name);
      if (!d || d.file !== p.name || e) {
        errors.push({
          file: p.name,
          code: 'not_indexed',
          message: e?.message ?? `${p.name} was saved but could not be indexed (未能建立索引)`,
        });
        continue;
      }
      documents.push({
        ...documentSummary(engine, id),
        file: p.name,
        status: p.replaced ? 'replaced' : 'added',
        ...(p.previous && { previous: p.previous }),
      });
    }
    return { documents, errors };
  } finally {
    await Promise.all(incoming.map((p) => rm(p.tempPath, { force: true })));
  }
}

/**
 * Take a paper out of the corpus: its file is moved to `removed/` in the data
 * folder (a sample paper is hidden instead: the sample folder is never
 * written), the corpus is synced (the engine drops it, its annotations become
 * orphans), and only when asked its annotations are deleted too.
 */
export async function removePaper(lib: PaperLibrary, id: string, deleteAnnotations: boolean, t: Translator = translator('en')) {
  const doc = lib.engine().requireDocument(id);
  const library = libraryOfPapers(lib);
  let hidden = false;
  const movedTo = await withKeyLock(lib.corpusDir, async () => {
    const own = (await listPapers({ dir: library.dir, sample: null })).papers.some((p) => p.id === id);
    // A sample paper of this id would show again once the library's own is gone.
    if (library.sample !== null && (await listPapers({ dir: library.sample, sample: null })).papers.some((p) => p.id === id)) {
      await hideSample(library, id);
      hidden = true;
    }
    if (!own) return null;
    try {
      return await moveToRemoved(lib, doc.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null; // already gone from the folder
      throw err;
    }
  });
  await lib.sync();
  let deleted = 0;
  let orphaned = 0;
  if (lib.store) {
    if (deleteAnnotations) deleted = lib.store.deleteByDocument(id);
    orphaned = lib.store.listKeys({ docId: id }).length;
  }
  const what = deleted
    ? t('flash.removedDeleted', { n: deleted })
    : orphaned
      ? t('flash.removedOrphaned', { n: orphaned })
      : t('flash.removedNone');
  // One sentence for the page, whether the removal came from the form or from page JS.
  const where = movedTo ? t('flash.removedMoved', { to: movedTo }) : hidden ? t('flash.removedHidden') : '';
  const message = t('flash.removed', { file: doc.file, where, what });
  return { removed: { id, file: doc.file, movedTo }, annotations: { orphaned, deleted }, message };
}

/** Save a metadata edit to the metadata file and show it at once. */
export async function editMetadata(lib: Pick<PaperLibrary, 'corpusDir' | 'engine'>, id: string, patch: MetadataPatch) {
  const engine = lib.engine();
  const doc = engine.requireDocument(id);
  const override = await writeMetadataOverride(lib.corpusDir, id, patch);
  const current: DocumentMeta = { id, title: doc.title, authors: doc.authors, year: doc.year, venue: doc.venue, lang: doc.lang };
  engine.setMetadata(applyMetadataPatch(current, patch));
  return { ...documentSummary(engine, id), override };
}

// --- HTTP -------------------------------------------------------------------

function multerError(err: unknown, limits: Required<UploadLimits>): UserInputError {
  if (err instanceof UserInputError) return err;
  const storage = storageUserError(err); // a full disk is not a bad upload
  if (storage) return storage;
  if (err instanceof multer.MulterError) {
    const name = (err as multer.MulterError & { filename?: string }).filename;
    switch (err.code) {
      case 'LIMIT_FILE_SIZE':
        return new UserInputError(
          'file_too_large',
          `${name ?? 'A file'} is larger than ${mb(limits.maxFileBytes)}, the most duikou accepts per paper; nothing was added (文件过大)`,
          413,
        );
      case 'LIMIT_FILE_COUNT':
        return new UserInputError(
          'too_many_files',
          `At most ${limits.maxFiles} files at once; add the rest in another batch; nothing was added (一次最多 ${limits.maxFiles} 个文件)`,
          413,
        );
      default:
        return new UserInputError('bad_upload', `The upload was refused: ${err.message}; nothing was added (上传失败)`);
    }
  }
  return new UserInputError(
    'bad_upload',
    `The upload could not be read (${(err as Error)?.message ?? 'malformed'}); nothing was added (上传失败)`,
  );
}

/** Receive a multipart upload into temp files in the corpus folder. */
function receive(req: Request, res: Response, corpusDir: string, limits: Required<UploadLimits>): Promise<IncomingPaper[]> {
  if (!req.is('multipart/form-data')) {
    return Promise.reject(
      new UserInputError('bad_upload', 'Send the papers as multipart/form-data in the field "files" (请以 multipart/form-data 上传)', 415),
    );
  }
  // Every temp file this request starts: multer leaves a half-written one behind when a write fails (a full disk).
  const started: string[] = [];
  const upload = multer({
    storage: multer.diskStorage({
      destination: corpusDir,
      filename: (_req, _file, cb) => {
        const name = basename(tempPaperPath(corpusDir));
        started.push(join(corpusDir, name));
        cb(null, name);
      },
    }),
    limits: { fileSize: limits.maxFileBytes, files: limits.maxFiles, fields: 10, parts: limits.maxFiles + 10, fieldSize: 1024 },
    defParamCharset: 'utf8',
    fileFilter: (_req, file, cb) => {
      if (file.fieldname !== 'files') {
        cb(new UserInputError('bad_upload', `Send the papers in the field "files", not "${file.fieldname}" (字段名应为 files)`));
        return;
      }
      try {
        sanitizePaperName(file.originalname);
        cb(null, true);
      } catch (err) {
        cb(err as Error);
      }
    },
  }).any();
  return new Promise((resolve, reject) => {
    upload(req, res, (err?: unknown) => {
      if (err) {
        void Promise.all(started.map((f) => rm(f, { force: true }))).finally(() => reject(multerError(err, limits)));
        return;
      }
      const files = (req.files as Express.Multer.File[] | undefined) ?? [];
      resolve(files.map((f) => ({ name: sanitizePaperName(f.originalname), tempPath: f.path })));
    });
  });
}

function libraryOf(deps: AppDeps): PaperLibrary | null {
  const { sync, corpusDir, sampleDir, dataDir, engine, store } = deps;
  if (!sync || !corpusDir || !dataDir) return null;
  return { corpusDir, sampleDir: sampleDir ?? null, dataDir, engine: () => engine, sync: () => sync.request(), ...(store && { store }) };
}

/** `1`/`true` in the query string or the form. */
function wants(req: Request, name: string): boolean {
  const body = (req.body ?? {}) as Record<string, unknown>;
  return flag(req.query as Record<string, unknown>, name, false) || flag(body, name, false);
}

/** A message of an upload's outcome, for the page. */
function uploadNotice(r: { documents: AddedPaper[]; errors: PaperError[] }, t: Translator): string {
  const parts: string[] = [];
  const added = r.documents.filter((d) => d.status === 'added');
  const replaced = r.documents.filter((d) => d.status === 'replaced');
  if (added.length) parts.push(t('flash.added', { n: added.length, files: added.map((d) => d.file).join(', ') }));
  if (replaced.length) parts.push(t('flash.replaced', { n: replaced.length, files: replaced.map((d) => d.file).join(', ') }));
  for (const e of r.errors) parts.push(t('flash.notAdded', { message: localMessage(e.message, t.lang) }));
  return parts.join(' ');
}

/**
 * Run a form handler and redirect to its page with a one-time message (kept on
 * the server, never in the address); a user's mistake comes back to the page
 * as a message instead of an error page.
 */
function formRoute(flash: FlashMessages, back: (req: Request) => string, fn: (req: Request) => Promise<{ to: string; notice: string }>) {
  return async (req: Request, res: Response) => {
    try {
      const { to, notice } = await fn(req);
      flash.set(req, res, { kind: 'notice', text: notice });
      res.redirect(303, to);
    } catch (err) {
      if (!(err instanceof UserInputError) || err.status === 404) throw err;
      flash.set(req, res, { kind: 'error', text: localMessage(err.message, tr(res).lang) });
      res.redirect(303, back(req));
    }
  };
}

const docUrl = (id: string): string => `/documents/${encodeURIComponent(id)}`;

/**
 * The API routes (`/api/documents` …), mounted after the token gate and the
 * same-origin check, and the form routes for the pages.
 * Mounted only when the app has a corpus folder, a data folder and a sync.
 */
export function documentsRouters(deps: AppDeps, flash: FlashMessages): { api: Router; pages: Router } | null {
  const lib = libraryOf(deps);
  if (!lib) return null;
  const limits: Required<UploadLimits> = {
    maxFileBytes: deps.upload?.maxFileBytes ?? MAX_UPLOAD_FILE_BYTES,
    maxFiles: deps.upload?.maxFiles ?? MAX_UPLOAD_FILES,
  };
  const api = Router();
  api.post('/documents', async (req, res) => {
    const incoming = await receive(req, res, lib.corpusDir, limits);
    const result = await addPapers(lib, incoming, wants(req, 'replace'));
    res.status(201).json(result);
  });
  api.patch('/documents/:id', async (req, res) => {
    lib.engine().requireDocument(req.params.id);
    res.json(await editMetadata(lib, req.params.id, parseMetadataPatch(req.body)));
  });
  api.delete('/documents/:id', async (req, res) => {
    res.json(await removePaper(lib, req.params.id, flag(req.query as Record<string, unknown>, 'deleteAnnotations', false), tr(res)));
  });

  const pages = Router();
  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 20 });
  pages.post(
    '/documents',
    formRoute(
      flash,
      () => '/documents',
      async (req) => {
        const res = req.res!;
        const incoming = await receive(req, res, lib.corpusDir, limits);
        const r = await addPapers(lib, incoming, wants(req, 'replace'));
        return { to: '/documents', notice: uploadNotice(r, tr(res)) };
      },
    ),
  );
  pages.post(
    '/documents/:id/metadata',
    form,
    formRoute(
      flash,
      (req) => docUrl(String(req.params.id)),
      async (req) => {
        const id = String(req.params.id);
        const doc = lib.engine().requireDocument(id);
        const patch = metadataFromForm((req.body ?? {}) as Record<string, unknown>, doc);
        const t = tr(req.res!);
        if (Object.keys(patch).length === 0) return { to: docUrl(id), notice: t('js.nothingChanged') };
        await editMetadata(lib, id, patch);
        return { to: docUrl(id), notice: t('flash.metaSaved') };
      },
    ),
  );
  pages.post(
    '/documents/:id/remove',
    form,
    formRoute(
      flash,
      (req) => docUrl(String(req.params.id)),
      async (req) => {
        const r = await removePaper(lib, String(req.params.id), wants(req, 'deleteAnnotations'), tr(req.res!));
        return { to: '/documents', notice: r.message };
      },
    ),
  );
  return { api, pages };
}
