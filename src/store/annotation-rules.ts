/**
 * The validation and quoting rules, shared with the PostgreSQL store
 * (src/backends/postgres/annotations.ts) so both backends accept and refuse
 * exactly the same input: tag names and their keys, colours, notes, ranges
 * and quotes, whole inputs (a new annotation, a patch, a backup, a listing's
 * text filter) and merging a group of annotations.
 */
import { UserInputError } from '../core/errors.js';
import { makeQuote, splitsSurrogatePair } from './anchor.js';
import type {
  Annotation,
  AnnotationPatch,
  DocText,
  MergedSource,
  NewAnnotation,
  RestorableAnnotation,
  RestorableTag,
} from './annotation-types.js';
import { IMPLICIT_OWNER } from './users.js';

/** Highlight colour of an annotation made without one. */
export const DEFAULT_COLOUR = '#ffd54f';
/** Longest tag name, in characters (code points), levels and `/` included. */
export const MAX_TAG_LENGTH = 64;
/** Longest note, in characters (code points). */
export const MAX_NOTE_LENGTH = 10_000;
/** Longest tag description, in characters (code points). */
export const MAX_DESCRIPTION_LENGTH = 2_000;
/** Longest text filter of a listing (`q`), in UTF-16 code units. */
export const MAX_QUERY_LENGTH = 1_000;
const MAX_DOC_ID_LENGTH = 512;

const COLOUR_RE = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
const CONTROL_RE = /[\p{Cc}\u2028\u2029]/u;
/** A level made only of white space and invisible format characters (zero-width space, joiners, marks). */
const INVISIBLE_ONLY_RE = /^[\s\p{Cf}]+$/u;
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Case- and width-insensitive form used for tag identity and text search. */
export function foldText(s: string): string {
  return s.normalize('NFKC').toLowerCase();
}

/** Code points in `s` (what a researcher calls characters). */
function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** A 400 for input the store refuses, with its code and (bilingual) message. */
export function bad(code: string, message: string): UserInputError {
  return new UserInputError(code, message, 400);
}

/**
 * A tag name as stored, and its key: segments between `/` (a full-width `／`
 * counts as `/`) trimmed; non-empty; at most 64 characters; no control
 * characters. The key is NFKC + lowercase, so `China`, `china` and `ｃｈｉｎａ`
 * are the same tag.
 *
 * A new name (`existing` unset) is also refused when a level is `.` or `..`
 * (also as `．．` or `‥`, which fold to them): the Tags page manages a tag at
 * `/api/tags/<name>`, and every URL parser resolves such a path segment away,
 * so the tag could be made but never renamed or deleted. Likewise a level that
 * folds to something holding `/` (`℅` is `c/o`) would put the key at another
 * depth than the name, and a level of only invisible characters shows as
 * nothing. Lookups of existing tags (`existing: true`) skip these checks, so a
 * tag stored by an older duikou can still be found, renamed and deleted.
 */
export function normalizeTagName(raw: unknown, options: { existing?: boolean } = {}): { name: string; key: string; segments: string[] } {
  if (typeof raw !== 'string') throw bad('bad_tag', 'A tag must be a string (标签必须是文本)');
  const segments = raw
    .replace(/／/g, '/')
    .split('/')
    .map((s) => s.trim());
  const name = segments.join('/');
  if (name === '') throw bad('bad_tag', 'A tag cannot be empty (标签不能为空)');
  if (segments.some((s) => s === '')) {
    throw bad('bad_tag', `Tag "${name}" has an empty level; write levels as 援藏/教育 (标签层级不能为空)`);
  }
  if (charCount(name) > MAX_TAG_LENGTH) {
    throw bad('bad_tag', `Tag "${name.slice(0, 20)}…" is longer than ${MAX_TAG_LENGTH} characters (标签过长)`);
  }
  if (CONTROL_RE.test(name) || LONE_SURROGATE_RE.test(name)) {
    throw bad('bad_tag', 'A tag cannot contain control characters (标签含有控制字符)');
  }
  const keySegments = segments.map((s) => foldText(s).trim());
  if (!options.existing) {
    for (const [i, k] of keySegments.entries()) {
      const level = segments[i] as string;
      if (k === '.' || k === '..') {
        throw bad('bad_tag', `Tag "${name}" has a level "${level}"; "." and ".." cannot be tag levels (标签层级不能为 . 或 ..)`);
      }
      if (k.includes('/')) {
        throw bad(
          'bad_tag',
          `Tag "${name}": the level "${level}" reads as "${k}", which holds "/"; write levels as 援藏/教育 (标签层级含有斜杠)`,
        );
      }
      if (INVISIBLE_ONLY_RE.test(k)) {
        throw bad('bad_tag', `Tag "${name}" has a level with nothing visible in it (标签层级不能为空)`);
      }
    }
  }
  return { name, key: keySegments.join('/'), segments };
}

/** What separates tag names typed in one field: commas (full-width too), 、 and semicolons. */
const TAG_SEPARATORS = /([,，、;；])/;

/**
 * Tag names typed in one field (an annotation card's), split at
 * {@link TAG_SEPARATORS}. A known name that holds a separator itself (a code
 * imported from a QDA project as "Health, education", a tag made on the Tags
 * page as 教育、医疗) is kept whole where the field holds it as one item, so a
 * card saved with only its note changed keeps its tags. Empty items and
 * repeats (ignoring case) are dropped. `parseTags` in public/js/duikou.js is
 * the same rule for the page's own forms.
 * @param known - names to keep whole: the annotation's tags, the tag vocabulary
 */
export function splitTagList(text: string, known: readonly string[] = []): string[] {
  const whole = new Set(known.filter((n) => TAG_SEPARATORS.test(n)).map((n) => n.trim()));
  const parts = text.split(TAG_SEPARATORS);
  const out: string[] = [];
  const seen = new Set<string>();
  const push = (t: string): void => {
    if (t === '' || seen.has(t.toLowerCase())) return;
    seen.add(t.toLowerCase());
    out.push(t);
  };
  // parts: item, separator, item, separator, …, item.
  for (let i = 0; i < parts.length; i += 2) {
    let taken = -1;
    let joined = parts[i]!;
    // The longest run of items (with the separators between them) that is a known name.
    for (let j = i + 2; j < parts.length && whole.size > 0; j += 2) {
      joined += parts[j - 1]! + parts[j]!;
      if (whole.has(joined.trim())) taken = j;
    }
    if (taken < 0) push(parts[i]!.trim());
    else {
      push(
        parts
          .slice(i, taken + 1)
          .join('')
          .trim(),
      );
      i = taken;
    }
  }
  return out;
}

/**
 * A CSS hex colour, lowercased.
 * @param what - how the message names the field (`colour`, `tag colour`)
 * @throws UserInputError bad_colour
 */
export function validateColour(raw: unknown, what = 'colour'): string {
  if (typeof raw !== 'string' || !COLOUR_RE.test(raw)) {
    throw bad('bad_colour', `The ${what} must be a CSS hex colour such as #ffd54f or #fc0 (颜色格式错误)`);
  }
  return raw.toLowerCase();
}

/**
 * A note: text of at most {@link MAX_NOTE_LENGTH} characters, without a lone surrogate or a NUL.
 * @throws UserInputError bad_note
 */
export function validateNote(raw: unknown): string {
  if (typeof raw !== 'string') throw bad('bad_note', 'The note must be text (备注必须是文本)');
  if (charCount(raw) > MAX_NOTE_LENGTH) {
    throw bad('bad_note', `The note is longer than ${MAX_NOTE_LENGTH} characters (备注过长)`);
  }
  // A NUL character, which no note needs, cannot be stored by the lab server's PostgreSQL: refused on both.
  if (LONE_SURROGATE_RE.test(raw) || raw.includes('\0')) throw bad('bad_note', 'The note contains an invalid character (备注含有无效字符)');
  return raw;
}

/**
 * A tag description: text of at most {@link MAX_DESCRIPTION_LENGTH} characters, without a lone surrogate
 * or a NUL (which the lab server's PostgreSQL cannot store: refused on both, as in a note).
 * @throws UserInputError bad_description
 */
export function validateDescription(raw: unknown): string {
  if (typeof raw !== 'string' || charCount(raw) > MAX_DESCRIPTION_LENGTH || LONE_SURROGATE_RE.test(raw) || raw.includes('\0')) {
    throw bad('bad_description', `A tag description must be text of at most ${MAX_DESCRIPTION_LENGTH} characters (描述无效)`);
  }
  return raw;
}

/**
 * A document id: non-empty, at most 512 UTF-16 code units, no control characters.
 * @throws UserInputError bad_doc_id
 */
export function validateDocId(raw: unknown): string {
  if (typeof raw !== 'string' || raw === '' || raw.length > MAX_DOC_ID_LENGTH || CONTROL_RE.test(raw)) {
    throw bad('bad_doc_id', 'The document id is missing or invalid (文档编号无效)');
  }
  return raw;
}

/** A tag name checked by {@link normalizeTagName}: as stored, its key, and its levels. */
export type ParsedTag = ReturnType<typeof normalizeTagName>;

/** Tags of one annotation: validated, deduplicated ignoring case (first spelling wins). */
export function validateTags(raw: unknown): ParsedTag[] {
  if (!Array.isArray(raw)) throw bad('bad_tag', 'Tags must be a list of names (标签必须是列表)');
  const seen = new Map<string, ParsedTag>();
  for (const t of raw) {
    const n = normalizeTagName(t);
    if (!seen.has(n.key)) seen.set(n.key, n);
  }
  return [...seen.values()];
}

/** A range checked by {@link validateRange}, with its quote and context. */
export type QuotedRange = { start: number; end: number } & ReturnType<typeof makeQuote>;

/** Check `[start, end)` against the text and the optional client quote; returns the quote with context. */
export function validateRange(text: string, start: unknown, end: unknown, exact: unknown): QuotedRange {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
    throw bad('bad_range', 'start and end must be whole numbers (起止位置必须是整数)');
  }
  const s = start as number;
  const e = end as number;
  if (s < 0 || e > text.length || s >= e) {
    throw bad('bad_range', `The range ${s}–${e} is not a non-empty range inside the document (0–${text.length}) (范围无效)`);
  }
  if (splitsSurrogatePair(text, s) || splitsSurrogatePair(text, e)) {
    throw bad('bad_range', 'The range cuts a character in half (范围切断了一个字符)');
  }
  const quote = makeQuote(text, s, e);
  if (exact !== undefined) {
    if (typeof exact !== 'string') throw bad('bad_quote', 'exact must be text (引文必须是文本)');
    if (exact !== quote.exact) {
      throw new UserInputError(
        'quote_mismatch',
        'The selected text no longer matches the document; reload it and select again (所选文本与文档不一致)',
        409,
      );
    }
  }
  return { start: s, end: e, ...quote };
}

/** Now as an ISO 8601 timestamp, later than `after` when given (so `updatedAt` always moves forward). */
export function isoNow(after?: string): string {
  const now = new Date();
  // Keep updated_at strictly increasing even for two edits within a millisecond.
  if (after !== undefined && now.toISOString() <= after) return new Date(Date.parse(after) + 1).toISOString();
  return now.toISOString();
}

/** What merging a group of annotations makes: see {@link AnnotationStore.merge}. */
export interface MergePlan {
  /** The first source in document order: its paper, start and colour are the merged annotation's. */
  first: Annotation;
  /** The end of the union of the sources' ranges (UTF-16 code units). */
  end: number;
  /** The sources' notes, each named by its coder when there are two or more. */
  note: string;
  /** The union of the sources' tags. */
  tags: string[];
  /** Who made what, in document order. */
  mergedFrom: MergedSource[];
}

/**
 * Check a group of annotations for merging (one paper, all anchored,
 * overlapping or touching) and work out the merged annotation; the rule both
 * backends follow.
 * @throws UserInputError bad_merge
 */
export function planMerge(group: readonly Annotation[]): MergePlan {
  const sources = [...group].sort((a, b) => a.start - b.start || a.end - b.end);
  if (sources.length === 0) throw bad('bad_merge', 'Choose the annotations to accept or merge (请选择标注)');
  const first = sources[0]!;
  if (sources.some((a) => a.docId !== first.docId))
    throw bad('bad_merge', 'Only annotations in one paper can be merged (只能合并同一文献中的标注)');
  if (sources.some((a) => a.status !== 'anchored'))
    throw bad('bad_merge', 'Re-attach orphaned annotations before merging them (请先重新锚定)');
  let end = first.end;
  for (const a of sources.slice(1)) {
    if (a.start > end) throw bad('bad_merge', 'Only overlapping annotations can be merged into one (只能合并相互重叠的标注)');
    end = Math.max(end, a.end);
  }
  const notes = sources.filter((a) => a.note.trim() !== '').map((a) => (sources.length > 1 ? `${a.createdBy}: ${a.note}` : a.note));
  return {
    first,
    end,
    note: notes.join('\n\n'),
    tags: [...new Set(sources.flatMap((a) => a.tags))],
    mergedFrom: sources.map((a) => ({
      id: a.id,
      coder: a.createdBy,
      start: a.start,
      end: a.end,
      exact: a.exact,
      tags: a.tags,
      note: a.note,
    })),
  };
}

/** A new annotation's fields, checked against the document's current text: what `create` stores. */
export interface ParsedAnnotation {
  docId: string;
  range: QuotedRange;
  note: string;
  colour: string;
  tags: ParsedTag[];
}

/**
 * Check a new annotation (the `create` of both stores) before anything is written.
 * @throws UserInputError bad_input | bad_doc_id | bad_range | quote_mismatch (409) | bad_note | bad_colour | bad_tag
 */
export function parseNewAnnotation(input: NewAnnotation, doc: DocText): ParsedAnnotation {
  if (typeof input !== 'object' || input === null) throw bad('bad_input', 'Missing annotation (缺少标注)');
  const docId = validateDocId(input.docId);
  const range = validateRange(doc.text, input.start, input.end, input.exact);
  const note = input.note === undefined ? '' : validateNote(input.note);
  const colour = input.colour === undefined ? DEFAULT_COLOUR : validateColour(input.colour);
  const tags = validateTags(input.tags ?? []);
  return { docId, range, note, colour, tags };
}

/** The checked fields of a patch; absent ones are left alone. */
export interface ParsedPatch {
  note?: string;
  colour?: string;
  tags?: ParsedTag[];
  range?: QuotedRange;
}

/**
 * Check a patch of `current` (the `update` of both stores). A new range (any
 * of start/end/exact) is checked like a new annotation's, against `doc`.
 * @param store - the calling store's name, for the error a caller's bug raises
 * @returns the checked changes, or null when the patch changes nothing
 * @throws UserInputError bad_input and the errors of {@link parseNewAnnotation}
 * @throws Error when the range changes and `doc` is missing (a bug in the caller)
 */
export function parseAnnotationPatch(
  current: Annotation,
  patch: AnnotationPatch,
  doc: DocText | undefined,
  store: string,
): ParsedPatch | null {
  if (typeof patch !== 'object' || patch === null) throw bad('bad_input', 'Missing changes (缺少修改内容)');
  const note = patch.note === undefined ? undefined : validateNote(patch.note);
  const colour = patch.colour === undefined ? undefined : validateColour(patch.colour);
  const tags = patch.tags === undefined ? undefined : validateTags(patch.tags);
  let range: QuotedRange | undefined;
  if (patch.start !== undefined || patch.end !== undefined || patch.exact !== undefined) {
    if (!doc) throw new Error(`${store}.update: changing the range needs the document text`);
    range = validateRange(doc.text, patch.start ?? current.start, patch.end ?? current.end, patch.exact);
  }
  if (note === undefined && colour === undefined && tags === undefined && range === undefined) return null;
  return { note, colour, tags, range };
}

/**
 * A listing's text filter, folded for matching; '' when absent or blank.
 * @throws UserInputError bad_query
 */
export function parseListQuery(q: unknown): string {
  if (q === undefined) return '';
  if (typeof q !== 'string' || q.length > MAX_QUERY_LENGTH) {
    throw bad('bad_query', `The search text must be at most ${MAX_QUERY_LENGTH} characters (搜索文本过长)`);
  }
  return foldText(q.trim());
}

/**
 * A backup's text with each NUL replaced by U+FFFD, as the REFI-QDA export writes it: the embedded
 * store once kept NULs in notes and tag descriptions, which are refused now (the lab server's
 * PostgreSQL cannot store them), and an old backup holding one must still restore, its text kept.
 */
const withoutNul = (text: unknown): unknown => (typeof text === 'string' ? text.replaceAll('\0', '\uFFFD') : text);

/**
 * Check a whole backup before restoring any of it (all or nothing): tag
 * definitions, and annotations with their range, paper, note, colour and tags
 * (and their coders, the implicit owner when the backup names none).
 * @throws UserInputError bad_tag | bad_colour | bad_description | bad_range | bad_doc_id | bad_note
 */
export function parseBackup(backup: { annotations: readonly RestorableAnnotation[]; tags: readonly RestorableTag[] }) {
  const tags = backup.tags.map((t) => ({
    ...normalizeTagName(t.name),
    colour: t.colour === null ? null : validateColour(t.colour, 'tag colour'),
    description: validateDescription(withoutNul(t.description)),
  }));
  const annotations = backup.annotations.map((a) => {
    // A backup's offsets are taken as stored (the paper may have changed since); only their shape is checked.
    if (!(Number.isInteger(a.start) && Number.isInteger(a.end) && a.start >= 0 && a.end > a.start && a.exact !== '')) {
      throw bad('bad_range', `Annotation ${a.id}: start/end must be whole numbers with 0 ≤ start < end and a quote (范围无效)`);
    }
    return {
      ...a,
      docId: validateDocId(a.docId),
      note: validateNote(withoutNul(a.note)),
      colour: validateColour(a.colour),
      tagNames: validateTags(a.tags),
      // Backups made before accounts name no coder: those annotations were the implicit owner's.
      createdBy: a.createdBy ?? IMPLICIT_OWNER,
      updatedBy: a.updatedBy ?? a.createdBy ?? IMPLICIT_OWNER,
      mergedFrom: a.mergedFrom ?? [],
    };
  });
  return { tags, annotations };
}
