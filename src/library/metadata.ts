/**
 * Editing `duikou.metadata.json`, the researcher's own file of metadata
 * overrides in the corpus folder (see `pipeline/load.ts`, which reads it).
 *
 * A change is read → merge → validate → write: the file is parsed as it is,
 * the one entry is merged in place (other entries, and the order of keys,
 * stay as they were), the result is checked against the same rules the
 * loader applies, and only the changed values are rewritten in the file's
 * text (jsonc-parser's edits), so the rest of the file keeps its formatting
 * byte for byte and a version-controlled file shows only the user's change.
 * New entries are written with 2-space indentation; the file ends with a
 * newline. The text goes to a temp file in the same folder, flushed to disk
 * and renamed over the old one (write-file-atomic), so neither the loader
 * nor the folder watcher ever sees half a file, and a power cut does not
 * lose the edit. An edit that changes nothing does not write. Writes in this process
 * are serialised.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
// A temp file in the same folder, fsynced, then renamed over the target: never half a file, nor one lost to a power cut.
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';
import { UserInputError } from '../core/errors.js';
import { withKeyLock } from '../core/keyed-lock.js';
import type { DocumentMeta } from '../core/types.js';
import {
  METADATA_FILE,
  type MetadataOverride,
  checkMetadataOverrides,
  metadataEntrySchema,
  parseJsonFile,
} from '../pipeline/metadata-file.js';

/** One entry of the file: the loader's own schema, so what is written is what is read. */
export const metadataPatchSchema = metadataEntrySchema;

/** The fields a metadata edit may set; absent fields are left as they are. */
export type MetadataPatch = z.infer<typeof metadataPatchSchema>;

const FIELD_ORDER = ['title', 'authors', 'year', 'venue', 'lang'] as const;

/**
 * Validate an edit from the API or a form.
 * @throws UserInputError `bad_metadata` (400) naming the field, for a wrong type, an unknown field, or an empty edit
 */
export function parseMetadataPatch(body: unknown): MetadataPatch {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new UserInputError('bad_metadata', 'Send the metadata as a JSON object (元数据须为 JSON 对象)');
  }
  const r = metadataPatchSchema.safeParse(body);
  if (!r.success) {
    const issue = r.error.issues[0];
    if (issue?.code === 'unrecognized_keys') {
      throw new UserInputError(
        'bad_metadata',
        `Unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; the fields are ${FIELD_ORDER.join(', ')} (未知字段)`,
      );
    }
    const where = issue?.path.length ? `"${issue.path.join('.')}": ` : '';
    throw new UserInputError('bad_metadata', `${where}${issue?.message ?? 'invalid metadata'}`);
  }
  if (Object.keys(r.data).length === 0) {
    throw new UserInputError('bad_metadata', `Nothing to change: give at least one of ${FIELD_ORDER.join(', ')} (没有要修改的字段)`);
  }
  return r.data;
}

/**
 * Read the metadata form of the document page (urlencoded strings): authors
 * one per line or separated by `;`, an empty year or venue means none. Only
 * fields that differ from `current` are returned, so saving the form does not
 * pin what duikou detected.
 * @throws UserInputError `bad_metadata` for a year that is not a whole number, an empty title, a language other than zh/en, or an unknown field
 */
export function metadataFromForm(form: Record<string, unknown>, current: DocumentMeta): MetadataPatch {
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(form)) {
    if (typeof v !== 'string') throw new UserInputError('bad_metadata', `Give "${k}" once, as text`);
    raw[k] = v;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const s = (v as string).trim();
    switch (k) {
      case 'title':
        if (s !== current.title) out.title = s;
        break;
      case 'authors': {
        const authors = splitAuthors(s);
        if (authors.join('\n') !== current.authors.join('\n')) out.authors = authors;
        break;
      }
      case 'year': {
        if (s !== '' && !/^\d+$/.test(s)) {
          throw new UserInputError(
            'bad_metadata',
            `"year": "${s}" is not a year; give a whole number such as 2019, or leave it empty (年份须为整数)`,
          );
        }
        const year = s === '' ? null : Number(s);
        if (year !== current.year) out.year = year;
        break;
      }
      case 'venue': {
        const venue = s === '' ? null : s;
        if (venue !== current.venue) out.venue = venue;
        break;
      }
      case 'lang':
        if (s !== current.lang) out.lang = s;
        break;
      default:
        out[k] = v; // rejected below as an unknown field
    }
  }
  const r = metadataPatchSchema.safeParse(out);
  if (!r.success) parseMetadataPatch(out); // throws with the message
  return r.success ? r.data : {};
}

/** Authors typed one per line, or separated by `;` / `；`. */
export function splitAuthors(s: string): string[] {
  return s
    .split(/\r?\n|[;；]/u)
    .map((a) => a.trim())
    .filter((a) => a !== '');
}

/** The metadata a document gets with the edit applied. */
export function applyMetadataPatch(meta: DocumentMeta, patch: MetadataPatch): DocumentMeta {
  const next: DocumentMeta = { ...meta };
  if (patch.title !== undefined) next.title = patch.title;
  if (patch.authors !== undefined) next.authors = patch.authors;
  if (patch.year !== undefined) next.year = patch.year;
  if (patch.venue !== undefined) next.venue = patch.venue;
  if (patch.lang !== undefined) next.lang = patch.lang;
  return next;
}

/**
 * Merge an edit of one document into the corpus folder's `duikou.metadata.json`.
 * Other entries and the order of keys are kept; new fields follow the existing ones.
 * @returns the document's whole override entry after the edit
 * @throws UserInputError `bad_metadata` (409) when the existing file is not valid JSON or breaks the loader's rules: it is left untouched
 */
export function writeMetadataOverride(corpusDir: string, id: string, patch: MetadataPatch): Promise<MetadataOverride> {
  const path = join(corpusDir, METADATA_FILE);
  // One edit of a metadata file at a time, so two edits never interleave their read and write.
  return withKeyLock(path, async () => {
    let raw: string | null;
    try {
      raw = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      raw = null;
    }
    // Entries keyed by document id, in file order, in an object without a prototype: an id
    // such as "__proto__" or "constructor" is an entry like any other (see metadata-file.ts).
    const next = Object.create(null) as Record<string, unknown>;
    if (raw !== null && raw.trim() !== '') {
      let parsed: unknown;
      try {
        parsed = parseJsonFile(raw, METADATA_FILE, 'bad_metadata');
      } catch (err) {
        throw new UserInputError(
          'bad_metadata',
          `${(err as Error).message}; fix it by hand first, duikou will not overwrite it (元数据文件格式错误)`,
          409,
        );
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new UserInputError('bad_metadata', `${METADATA_FILE} must hold one object keyed by document id (元数据文件格式错误)`, 409);
      }
      for (const [k, v] of Object.entries(parsed)) next[k] = v;
    }
    const old = Object.hasOwn(next, id) ? next[id] : undefined;
    // Only an entry that is an object can be edited field by field; anything else is replaced whole.
    const had = typeof old === 'object' && old !== null && !Array.isArray(old);
    const entry: Record<string, unknown> = had ? { ...(old as Record<string, unknown>) } : {};
    for (const k of FIELD_ORDER) if (patch[k] !== undefined) entry[k] = patch[k];
    next[id] = entry;
    let checked: Record<string, MetadataOverride>;
    try {
      checked = checkMetadataOverrides(next, METADATA_FILE, raw ?? undefined);
    } catch (err) {
      throw new UserInputError('bad_metadata', `${(err as Error).message}; fix that entry by hand first`, 409);
    }
    // Loaded on the first edit, not at start: it is not needed to serve pages.
    const { applyEdits, modify } = await import('jsonc-parser');
    const eol = raw?.includes('\r\n') ? '\r\n' : '\n';
    const options = { formattingOptions: { insertSpaces: true, tabSize: 2, eol } };
    let text = raw !== null && raw.trim() !== '' ? raw : `{}${eol}`;
    if (!had) {
      text = applyEdits(text, modify(text, [id], entry, options));
    } else {
      for (const k of FIELD_ORDER) {
        const before = (old as Record<string, unknown>)[k];
        if (patch[k] !== undefined && !isDeepStrictEqual(before, patch[k]))
          text = applyEdits(text, modify(text, [id, k], patch[k], options));
      }
    }
    if (!text.endsWith('\n')) text += eol;
    if (text !== raw) await writeFileAtomic(path, text);
    return checked[id] as MetadataOverride;
  });
}
