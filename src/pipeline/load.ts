/**
 * Load stage: corpus folder → documents with canonical text and metadata.
 *
 * Metadata is read from the paper's own front matter where that can be done
 * safely, then overridden field by field from `duikou.metadata.json` in the
 * corpus folder, which the researcher keeps (PDF extraction loses too much to
 * rely on detection alone).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { z } from 'zod';
import { UserInputError } from '../core/errors.js';
import type { DocumentMeta, LoadedDocument } from '../core/types.js';
import { detectLang } from './lang.js';
import { joinPieces, segment } from './segment.js';

/** Name of the metadata override file inside the corpus folder. */
export const METADATA_FILE = 'duikou.metadata.json';

/** Extensions of paper files, lower case. */
const PAPER_EXTENSIONS = new Set(['.txt', '.md']);

const metaEntry = z
  .object({
    title: z.string().trim().min(1).optional(),
    authors: z.array(z.string().trim().min(1)).optional(),
    year: z.number().int().min(1000).max(2999).nullable().optional(),
    venue: z.string().trim().min(1).nullable().optional(),
    lang: z.enum(['zh', 'en']).optional(),
  })
  .strict();

const metaFile = z.record(z.string().min(1), metaEntry);

/** The fields `duikou.metadata.json` may set for one document; absent fields keep the detected value. */
export type MetadataOverride = z.infer<typeof metaEntry>;

/** The override file's content: entries keyed by document id. */
export type MetadataOverrides = Record<string, MetadataOverride>;

/**
 * Canonical text of a file: UTF-8 with a byte-order mark stripped and CRLF
 * turned into LF, nothing else. Invalid bytes become U+FFFD rather than
 * failing, so one damaged file does not stop a corpus from loading.
 */
export function decodeText(buf: Buffer): string {
  // TextDecoder drops a leading BOM unless told otherwise.
  return new TextDecoder('utf-8').decode(buf).replace(/\r\n/g, '\n');
}

/**
 * The paper files of a corpus folder, sorted: `.txt` and `.md`, without hidden
 * files and without duikou's own `duikou.*` data files kept alongside.
 */
export async function listCorpusFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && !e.name.startsWith('duikou.'))
    .map((e) => e.name)
    .filter((name) => PAPER_EXTENSIONS.has(extname(name).toLowerCase()))
    .sort();
}

/**
 * Reads and validates `duikou.metadata.json`; a corpus without one has no overrides.
 * @throws UserInputError `bad_metadata` naming the file and the faulty entry
 */
export async function readMetadataOverrides(dir: string): Promise<MetadataOverrides> {
  const path = join(dir, METADATA_FILE);
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new UserInputError('bad_metadata', `${path} is not valid JSON: ${(err as Error).message} (元数据文件格式错误)`);
  }
  const parsed = metaFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(top level)';
    throw new UserInputError('bad_metadata', `${path}: bad entry at ${where}: ${issue?.message ?? 'invalid'} (元数据文件有误)`);
  }
  return parsed.data;
}

const MARKS = /\^\{[^{}]*\}|<sup>[^<]*<\/sup>|[\u00B9\u00B2\u00B3\u2070-\u2079]|\\?\*/gu;
const AFFILIATION = /universit|college|school|institute|department|academy|brief|no\.|@|date|大学|学院|研究所|研究院|中心/i;
const DATE_LINE = /date of publication|published|publication date|出版日期|发表日期/i;
const DOI_YEAR = /\b10\.\d{4,9}\/[^\s]*?[./-]((?:19|20)\d\d)[./-]/;

/**
 * Metadata read from the text: the title passage, the first byline of the
 * front matter, and a year only where the front matter states it (a date of
 * publication, or a year embedded in the paper's own DOI); years in the body
 * or the references are never taken, so the year is often null.
 */
export function detectMetadata(id: string, text: string): DocumentMeta {
  const lang = detectLang(text);
  const passages = segment(id, text, lang);
  const clean = (s: string): string => s.replace(MARKS, '').replace(/\s+/gu, ' ').trim();
  const titlePassage = passages.find((p) => p.kind === 'title');
  const title = titlePassage
    ? titlePassage.pieces.map((p) => clean(text.slice(p.start, p.end)).replace(/^(?:--|—|–|:)\s*/u, '')).join(': ')
    : id;
  const front = passages.filter((p) => p.kind === 'front-matter').map((p) => joinPieces(text, p.pieces).text);
  let authors: string[] = [];
  const byline = front.find((f) => !AFFILIATION.test(f) && !/[:：]/u.test(f));
  if (byline) {
    const names = clean(byline)
      .split(/\s*(?:,|，|、|;|；|&|\band\b)\s*/u)
      .filter((n) => n.length > 0);
    if (names.length <= 12 && names.every((n) => n.length <= 40)) authors = names;
  }
  let year: number | null = null;
  for (const f of front) {
    const m = DATE_LINE.test(f) ? /\b(?:19|20)\d\d\b/.exec(f) : DOI_YEAR.exec(f);
    const y = m ? Number(m[1] ?? m[0]) : Number.NaN;
    if (y >= 1900 && y <= new Date().getFullYear() + 1) {
      year = y;
      break;
    }
  }
  return { id, title, authors, year, venue: null, lang };
}

/** Applies the override entry field by field. */
function applyOverride(meta: DocumentMeta, o: MetadataOverride | undefined): DocumentMeta {
  if (!o) return meta;
  return {
    ...meta,
    ...(o.title !== undefined && { title: o.title }),
    ...(o.authors !== undefined && { authors: o.authors }),
    ...(o.year !== undefined && { year: o.year }),
    ...(o.venue !== undefined && { venue: o.venue }),
    ...(o.lang !== undefined && { lang: o.lang }),
  };
}

/**
 * Loads one paper: canonical text, its SHA-256, and metadata (detected, then overridden).
 * @param file - file name inside `dir`; the id is the name without its extension
 */
export async function loadDocument(dir: string, file: string, overrides: MetadataOverrides): Promise<LoadedDocument> {
  const text = decodeText(await readFile(join(dir, file)));
  const id = file.slice(0, file.length - extname(file).length);
  const hash = createHash('sha256').update(text, 'utf8').digest('hex');
  const meta = applyOverride(detectMetadata(id, text), overrides[id]);
  return { ...meta, text, hash, file };
}

/** Loads every paper of a corpus folder, in file-name order. */
export async function loadCorpus(dir: string): Promise<LoadedDocument[]> {
  const overrides = await readMetadataOverrides(dir);
  const files = await listCorpusFiles(dir);
  return Promise.all(files.map((f) => loadDocument(dir, f, overrides)));
}
