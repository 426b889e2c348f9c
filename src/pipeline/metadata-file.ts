/**
 * Reading `duikou.metadata.json`, the researcher's own file of metadata
 * overrides in the corpus folder: its rules (shared with the editor in
 * `metadata.ts`, which writes it), and a parser that names the file, line and
 * column of a mistake.
 *
 * Document ids are file names, so any string is an id, including `__proto__`,
 * `constructor` and `hasOwnProperty`. The overrides are therefore kept in an
 * object without a prototype (assigning `__proto__` there makes an ordinary
 * entry instead of changing the prototype, and nothing is inherited), and
 * every lookup goes through {@link overrideFor}, which only sees the file's own
 * entries, even after the object was copied to a worker.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import indexToPosition from 'index-to-position';
import { type JSONPath, findNodeAtLocation, parseTree } from 'jsonc-parser';
import parseJson, { JSONError } from 'parse-json';
import { z } from 'zod';
import { FileProblemError } from '../core/errors.js';

/** Name of the metadata override file inside the corpus folder. */
export const METADATA_FILE = 'duikou.metadata.json';

/**
 * One entry of `duikou.metadata.json`: the rules the loader reads it with and
 * the metadata editor writes it with. Unknown fields are refused.
 */
export const metadataEntrySchema = z
  .object({
    title: z.string().trim().min(1, 'The title cannot be empty (标题不能为空)').max(1000).optional(),
    authors: z.array(z.string().trim().min(1, 'An author cannot be empty (作者不能为空)').max(200)).max(100).optional(),
    year: z
      .number({ error: 'The year must be a whole number such as 2019, or empty (年份须为整数)' })
      .int('The year must be a whole number such as 2019 (年份须为整数)')
      .min(1000, 'The year must be from 1000 to 2999 (年份须在 1000–2999 之间)')
      .max(2999, 'The year must be from 1000 to 2999 (年份须在 1000–2999 之间)')
      .nullable()
      .optional(),
    venue: z.string().trim().min(1).max(1000).nullable().optional(),
    lang: z.enum(['zh', 'en'], { error: 'The language must be zh or en (语言须为 zh 或 en)' }).optional(),
  })
  .strict();

/** The fields `duikou.metadata.json` may set for one document; absent fields keep the detected value. */
export type MetadataOverride = z.infer<typeof metadataEntrySchema>;

/** The override file's content: entries keyed by document id, in file order (an object without a prototype). */
export type MetadataOverrides = Readonly<Record<string, MetadataOverride>>;

/** An empty set of overrides (no prototype, like every {@link MetadataOverrides}). */
export function noOverrides(): Record<string, MetadataOverride> {
  return Object.create(null) as Record<string, MetadataOverride>;
}

/** The override entry of document `id`, if the file has one: own entries only, never `Object.prototype`'s. */
export function overrideFor(overrides: MetadataOverrides, id: string): MetadataOverride | undefined {
  return Object.hasOwn(overrides, id) ? overrides[id] : undefined;
}

/** Where JSON.parse stopped: Node 20 says "at position N", newer versions add "(line L column C)". */
function jsonErrorPosition(raw: string, message: string): { line: number; column: number } | undefined {
  const m = /at position (\d+)(?: \(line (\d+) column (\d+)\))?/.exec(message);
  if (!m) return raw.trim() === '' ? { line: 1, column: 1 } : undefined;
  if (m[2] && m[3]) return { line: Number(m[2]), column: Number(m[3]) };
  return indexToPosition(raw, Math.min(Number(m[1]), raw.length), { oneBased: true });
}

/**
 * Parse JSON text of a file, naming the file, line and column where it breaks.
 * @param file - the name shown in the message
 * @param code - the error code (`bad_metadata`)
 * @throws FileProblemError with `line`, `column` and a code frame as `excerpt`
 */
export function parseJsonFile(raw: string, file: string, code: string): unknown {
  try {
    return parseJson(raw.replace(/^\uFEFF/u, ''));
  } catch (err) {
    if (!(err instanceof JSONError)) throw err;
    const cause = err.cause instanceof Error ? err.cause.message : err.message;
    const at = jsonErrorPosition(raw.replace(/^\uFEFF/u, ''), cause);
    const where = at ? `, line ${at.line}, column ${at.column}` : '';
    throw new FileProblemError(
      code,
      `${file}${where}: not valid JSON: ${cause.replace(/\s+in JSON at position.*$/u, '')} (JSON 格式错误)`,
      {
        file,
        ...(at && { line: at.line, column: at.column }),
        ...(err.rawCodeFrame && { excerpt: err.rawCodeFrame }),
      },
    );
  }
}

/**
 * Line and column of the value at `path` in JSON text (of its key, for a
 * property), or of the nearest enclosing value that exists; located with
 * jsonc-parser's syntax tree.
 */
function locate(raw: string, path: JSONPath): { line: number; column: number } | undefined {
  const root = parseTree(raw.replace(/^\uFEFF/u, ''));
  if (!root) return undefined;
  for (let n = path.length; n >= 0; n--) {
    const node = findNodeAtLocation(root, path.slice(0, n));
    if (!node) continue;
    const offset = node.parent?.type === 'property' ? node.parent.offset : node.offset;
    return indexToPosition(raw.replace(/^\uFEFF/u, ''), offset, { oneBased: true });
  }
  return undefined;
}

/**
 * Check a parsed metadata file entry by entry.
 * @param file - the name shown in messages
 * @param raw - the file's text, to give the line and column of a faulty entry
 * @returns the overrides (no prototype; `__proto__` is an entry like any other)
 * @throws FileProblemError `bad_metadata` naming the file, the entry and the field (and its line and column, given `raw`)
 */
export function checkMetadataOverrides(json: unknown, file: string, raw?: string): Record<string, MetadataOverride> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    const at = raw === undefined ? undefined : locate(raw, []);
    throw new FileProblemError(
      'bad_metadata',
      `${file}${at ? `, line ${at.line}, column ${at.column}` : ''}: must hold one object keyed by document id (元数据文件格式错误)`,
      { file, ...(at && { line: at.line, column: at.column }) },
    );
  }
  const out = noOverrides();
  // Object.entries lists own properties only, including one named "__proto__" (JSON.parse makes it an own property).
  for (const [id, entry] of Object.entries(json)) {
    if (id === '') {
      throw new FileProblemError('bad_metadata', `${file}: an entry has an empty document id (元数据文件有误)`, { file, entry: id });
    }
    const r = metadataEntrySchema.safeParse(entry);
    if (!r.success) {
      const issue = r.error.issues[0];
      const field = issue?.path.length ? `.${issue.path.join('.')}` : '';
      const unknown = issue?.code === 'unrecognized_keys' ? issue.keys : null;
      const what = unknown ? `unknown field ${unknown.map((k) => `"${k}"`).join(', ')}` : issue?.message;
      const path: JSONPath = [id, ...((unknown ? [unknown[0]] : (issue?.path ?? [])) as (string | number)[])];
      const at = raw === undefined ? undefined : locate(raw, path);
      const where = at ? `, line ${at.line}, column ${at.column}` : '';
      throw new FileProblemError('bad_metadata', `${file}${where}: bad entry "${id}"${field}: ${what ?? 'invalid'} (元数据文件有误)`, {
        file,
        entry: id,
        ...(at && { line: at.line, column: at.column }),
      });
    }
    out[id] = r.data;
  }
  return out;
}

/**
 * Reads and validates `duikou.metadata.json`; a corpus without one has no overrides.
 * @param name - the file's name in messages (the bare name by default; a path where there are several)
 * @throws FileProblemError `bad_metadata` naming the file and the line and column (broken JSON) or the faulty entry
 */
export async function readMetadataOverrides(dir: string, name: string = METADATA_FILE): Promise<MetadataOverrides> {
  let raw: string;
  try {
    raw = await readFile(join(dir, METADATA_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return noOverrides();
    throw err;
  }
  return checkMetadataOverrides(parseJsonFile(raw, name, 'bad_metadata'), name, raw);
}
