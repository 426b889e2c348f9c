/**
 * W3C Web Annotation Data Model export — duikou's backup format.
 *
 * The file is one `AnnotationCollection` (https://www.w3.org/TR/annotation-model/)
 * whose first (and only) `AnnotationPage` embeds every annotation:
 *
 *     {
 *       "@context": ["http://www.w3.org/ns/anno.jsonld", { "duikou": "urn:duikou:ns:" }],
 *       "id": "urn:uuid:…", "type": "AnnotationCollection", "label": "…", "total": 2,
 *       "duikou:format": "duikou-backup", "duikou:version": 1,
 *       "duikou:tags": [{ "name": "援藏/教育", "colour": "#3b7dd8", "description": "…" }],
 *       "first": { "type": "AnnotationPage", "startIndex": 0, "items": [
 *         { "id": "urn:uuid:<annotation id>", "type": "Annotation", "motivation": "highlighting",
 *           "created": "…", "modified": "…",
 *           "body": [ { "type": "TextualBody", "purpose": "tagging", "value": "援藏/教育" },
 *                     { "type": "TextualBody", "purpose": "commenting", "value": "<note>", "format": "text/plain" } ],
 *           "target": { "source": "urn:duikou:doc:<percent-encoded document id>",
 *                       "duikou:page": { "first": 12, "last": 12 },
 *                       "selector": [ { "type": "TextQuoteSelector", "exact": "…", "prefix": "…", "suffix": "…" },
 *                                     { "type": "TextPositionSelector", "start": 10, "end": 42, "duikou:unit": "utf-16" } ] },
 *           "duikou:colour": "#ffd54f", "duikou:textHash": "<sha-256>", "duikou:status": "anchored",
 *           "duikou:anchorMethod": "created" } ] }
 *     }
 *
 * Decisions:
 * - **Positions are UTF-16 code units**, duikou's offsets as they are, and every
 *   TextPositionSelector says so with `"duikou:unit": "utf-16"`. The model
 *   speaks of "character positions" without defining the unit (w3c/web-annotation
 *   issue #206); browser-based annotators (Hypothesis, the dom-anchor-text-position
 *   library) count UTF-16 units as duikou does. Converting to code points would
 *   need each document's text at export and import, and the backup must restore
 *   exactly without it. The two differ only after a character outside the BMP;
 *   the TextQuoteSelector (always present) anchors regardless.
 *   When reading a file without `duikou:unit`, positions are taken as UTF-16;
 *   any other unit is rejected.
 * - **Documents** are `urn:duikou:doc:` + `encodeURIComponent(document id)`, an
 *   absolute URN (ids may contain characters that are not IRI-safe).
 * - **Annotation ids** are `urn:uuid:<id>` (ids are UUIDs); an id that is not a
 *   UUID is written as `urn:duikou:annotation:<percent-encoded id>`.
 * - **Extensions** live in the `duikou:` namespace (`urn:duikou:ns:`), declared
 *   in the context, so JSON-LD processors keep them and other tools ignore them.
 * - Every selector field is written, even when empty (`prefix: ""`), and the
 *   note body only when the note is non-empty; so parse → export → parse is the
 *   identity. The passage `section` is derived data and is not backed up.
 * - **Pages** (`"duikou:page": {"first", "last"}` on the target) and the
 *   **whole quote** (`"duikou:quote"` on the TextQuoteSelector, only when a
 *   page-break join makes it differ from `exact`) are written for readers of
 *   the file and derived again on import, so they are not read back: `exact`
 *   stays the true text slice `[start, end)` and the round trip stays exact.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { UserInputError } from '../core/errors.js';
import type { ExportAnnotation, ExportTag } from './types.js';
import { IMPLICIT_OWNER } from '../store/users.js';

/** The W3C Web Annotation JSON-LD context. */
export const ANNO_CONTEXT = 'http://www.w3.org/ns/anno.jsonld';
/** Namespace of duikou's own properties (colour, status, coders) in a backup. */
export const DUIKOU_NS = 'urn:duikou:ns:';
/** IRI prefix of a paper (its id percent-encoded after it). */
export const DUIKOU_DOC_PREFIX = 'urn:duikou:doc:';
const DUIKOU_ANNOTATION_PREFIX = 'urn:duikou:annotation:';
/** What a backup file says it is (its `format` field). */
export const BACKUP_FORMAT = 'duikou-backup';
/** The version of the backup layout this code writes. */
export const BACKUP_VERSION = 1;
/** IANA media type of Web Annotation JSON-LD (Web Annotation Protocol §4). */
export const WEB_ANNOTATION_CONTENT_TYPE = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"';

/** The store's anchoring methods (`AnchorMethod` in src/store/anchor.ts); a backup holds nothing else. */
export const ANCHOR_METHODS = ['created', 'exact', 'quote', 'fuzzy', 'orphaned'] as const;

/** An annotation as a backup holds it: everything but the derived `section` (page and whole quote are written, not read back). */
export type BackupAnnotation = Omit<ExportAnnotation, 'section'>;

/** What {@link parseWebAnnotationBackup} returns: `anchorMethod` narrowed to the store's methods, nothing derived. */
export type RestoredAnnotation = Omit<BackupAnnotation, 'page' | 'quote'> & { anchorMethod: (typeof ANCHOR_METHODS)[number] };

/** What a backup restores. */
export interface WebAnnotationBackup {
  annotations: RestoredAnnotation[];
  tags: ExportTag[];
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** CSS hex colour as the store keeps it: `#rgb` or `#rrggbb`. */
const COLOUR = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;

/** The JSON of one annotation. */
export interface WebAnnotation {
  id: string;
  type: 'Annotation';
  motivation: 'highlighting';
  created: string;
  modified: string;
  /** The coder (W3C `creator`, an Agent), and who last edited it. */
  creator?: { type: 'Person'; name: string };
  'duikou:modifiedBy'?: string;
  /** For the group's version: the coders' annotations it was made from. */
  'duikou:mergedFrom'?: NonNullable<ExportAnnotation['mergedFrom']>;
  body?: { type: 'TextualBody'; purpose: 'tagging' | 'commenting'; value: string; format?: 'text/plain' }[];
  target: {
    source: string;
    /** The pages the quote stands on (derived; not read back). */
    'duikou:page'?: { first: number; last: number };
    selector: [
      /** `duikou:quote`: the whole quote a reader sees, when a page-break join makes it differ from `exact`. */
      { type: 'TextQuoteSelector'; exact: string; prefix: string; suffix: string; 'duikou:quote'?: string },
      { type: 'TextPositionSelector'; start: number; end: number; 'duikou:unit': 'utf-16' },
    ];
  };
  'duikou:colour': string;
  'duikou:textHash': string;
  'duikou:status': 'anchored' | 'orphaned';
  'duikou:anchorMethod': string;
}

/** The JSON of a whole backup. */
export interface WebAnnotationCollection {
  '@context': [typeof ANNO_CONTEXT, { duikou: typeof DUIKOU_NS }];
  id: string;
  type: 'AnnotationCollection';
  label: string;
  total: number;
  'duikou:format': typeof BACKUP_FORMAT;
  'duikou:version': typeof BACKUP_VERSION;
  'duikou:tags': ExportTag[];
  first?: { type: 'AnnotationPage'; startIndex: 0; items: WebAnnotation[] };
}

/** The id and label of an exported annotation collection. */
export interface WebAnnotationOptions {
  /** Collection id (an IRI); a fresh `urn:uuid:` by default. */
  id?: string;
  /** Human-readable label. */
  label?: string;
}

/** An annotation's IRI: `urn:uuid:` for a UUID, else duikou's prefix with the id percent-encoded. */
export function annotationIri(id: string): string {
  return UUID.test(id) ? `urn:uuid:${id}` : `${DUIKOU_ANNOTATION_PREFIX}${encodeURIComponent(id)}`;
}

/** A paper's IRI: {@link DUIKOU_DOC_PREFIX} with its id percent-encoded. */
export function documentIri(docId: string): string {
  return `${DUIKOU_DOC_PREFIX}${encodeURIComponent(docId)}`;
}

/** One annotation as a W3C Web Annotation. */
export function toWebAnnotation(a: BackupAnnotation): WebAnnotation {
  const body: NonNullable<WebAnnotation['body']> = a.tags.map((value) => ({ type: 'TextualBody', purpose: 'tagging', value }));
  if (a.note !== '') body.push({ type: 'TextualBody', purpose: 'commenting', value: a.note, format: 'text/plain' });
  return {
    id: annotationIri(a.id),
    type: 'Annotation',
    motivation: 'highlighting',
    created: a.createdAt,
    modified: a.updatedAt,
    creator: { type: 'Person', name: a.createdBy ?? IMPLICIT_OWNER },
    'duikou:modifiedBy': a.updatedBy ?? a.createdBy ?? IMPLICIT_OWNER,
    ...(a.mergedFrom?.length ? { 'duikou:mergedFrom': a.mergedFrom } : {}),
    ...(body.length > 0 ? { body } : {}),
    target: {
      source: documentIri(a.docId),
      ...(a.page ? { 'duikou:page': { first: a.page.first, last: a.page.last } } : {}),
      selector: [
        {
          type: 'TextQuoteSelector',
          exact: a.exact,
          prefix: a.prefix,
          suffix: a.suffix,
          ...(a.quote !== undefined && a.quote !== a.exact ? { 'duikou:quote': a.quote } : {}),
        },
        { type: 'TextPositionSelector', start: a.start, end: a.end, 'duikou:unit': 'utf-16' },
      ],
    },
    'duikou:colour': a.colour,
    'duikou:textHash': a.textHash,
    'duikou:status': a.status,
    'duikou:anchorMethod': a.anchorMethod,
  };
}

/** Annotations and tag definitions as an AnnotationCollection (a plain object; `JSON.stringify` it). */
export function exportWebAnnotations(
  input: { annotations: readonly BackupAnnotation[]; tags?: readonly ExportTag[] },
  options: WebAnnotationOptions = {},
): WebAnnotationCollection {
  const items = input.annotations.map(toWebAnnotation);
  return {
    '@context': [ANNO_CONTEXT, { duikou: DUIKOU_NS }],
    id: options.id ?? `urn:uuid:${randomUUID()}`,
    type: 'AnnotationCollection',
    label: options.label ?? 'duikou annotations',
    total: items.length,
    'duikou:format': BACKUP_FORMAT,
    'duikou:version': BACKUP_VERSION,
    'duikou:tags': (input.tags ?? []).map((t) => ({ name: t.name, colour: t.colour, description: t.description })),
    // The model requires a page to have at least one item: no page when empty.
    ...(items.length > 0 ? { first: { type: 'AnnotationPage' as const, startIndex: 0 as const, items } } : {}),
  };
}

/**
 * The backup file's text (pretty-printed JSON, newline at the end) in pieces:
 * the collection around its items, then one annotation at a time, so a large
 * backup streams instead of becoming one string.
 */
export function* webAnnotationChunks(
  input: { annotations: readonly BackupAnnotation[]; tags?: readonly ExportTag[] },
  options: WebAnnotationOptions = {},
): Generator<string> {
  const collection = exportWebAnnotations({ annotations: [], tags: input.tags }, options);
  if (input.annotations.length === 0) {
    yield `${JSON.stringify(collection, null, 2)}\n`;
    return;
  }
  // The collection with an empty page, cut where its items go: the page is the last member, items its last.
  const page = { type: 'AnnotationPage' as const, startIndex: 0 as const, items: [] };
  const frame = JSON.stringify({ ...collection, total: input.annotations.length, first: page }, null, 2);
  const cut = frame.lastIndexOf('"items": []') + '"items": ['.length;
  yield `${frame.slice(0, cut)}\n`;
  const indent = ' '.repeat(6);
  let i = 0;
  for (const a of input.annotations) {
    const item = JSON.stringify(toWebAnnotation(a), null, 2).replace(/\n/g, `\n${indent}`);
    yield `${indent}${item}${++i < input.annotations.length ? ',' : ''}\n`;
  }
  yield `    ${frame.slice(cut)}\n`;
}

/** The backup file's text (pretty-printed JSON, newline at the end). */
export function stringifyWebAnnotations(
  input: { annotations: readonly BackupAnnotation[]; tags?: readonly ExportTag[] },
  options: WebAnnotationOptions = {},
): string {
  return [...webAnnotationChunks(input, options)].join('');
}

// ---------------------------------------------------------------- parsing

/** The model allows one value or an array wherever several are possible. */
const oneOrMany = <T extends z.ZodType>(item: T) => z.preprocess((v) => (v === undefined || Array.isArray(v) ? v : [v]), z.array(item));

const textualBody = z.object({
  type: z.literal('TextualBody'),
  purpose: z.enum(['tagging', 'commenting'], { error: 'a body must be a TextualBody with purpose "tagging" or "commenting"' }),
  value: z.string(),
});

const quoteSelector = z.object({
  type: z.literal('TextQuoteSelector'),
  exact: z.string(),
  prefix: z.string().default(''),
  suffix: z.string().default(''),
});
const positionSelector = z.object({
  type: z.literal('TextPositionSelector'),
  start: z.number().int().nonnegative(),
  end: z.number().int().nonnegative(),
  'duikou:unit': z.literal('utf-16', { error: 'positions must be in UTF-16 code units ("duikou:unit": "utf-16")' }).optional(),
});
const selector = z.looseObject({ type: z.string() });

const isoDate = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' });

const annotationSchema = z
  .object({
    id: z.string().refine((s) => (/^urn:uuid:/i.test(s) ? UUID.test(s.slice(9)) : s.startsWith(DUIKOU_ANNOTATION_PREFIX)), {
      error: 'id must be urn:uuid:<uuid> or urn:duikou:annotation:<id>',
    }),
    type: z.literal('Annotation'),
    created: isoDate,
    modified: isoDate,
    creator: z.looseObject({ name: z.string().min(1).max(64) }).optional(),
    'duikou:modifiedBy': z.string().min(1).max(64).optional(),
    'duikou:mergedFrom': z
      .array(
        z.object({
          id: z.string(),
          coder: z.string(),
          start: z.number().int().nonnegative(),
          end: z.number().int().nonnegative(),
          exact: z.string(),
          tags: z.array(z.string()),
          note: z.string(),
        }),
      )
      .optional(),
    body: oneOrMany(textualBody).optional(),
    target: z.object({
      source: z.string().startsWith(DUIKOU_DOC_PREFIX, { error: `target.source must start with ${DUIKOU_DOC_PREFIX}` }),
      selector: oneOrMany(selector),
    }),
    'duikou:colour': z.string().regex(COLOUR, { error: 'colour must be #rgb or #rrggbb' }),
    'duikou:textHash': z.string(),
    'duikou:status': z.enum(['anchored', 'orphaned']),
    'duikou:anchorMethod': z.enum(ANCHOR_METHODS),
  })
  .transform((a, ctx): RestoredAnnotation => {
    const quotes = a.target.selector.filter((s) => s.type === 'TextQuoteSelector');
    const positions = a.target.selector.filter((s) => s.type === 'TextPositionSelector');
    const q = quotes.length === 1 ? quoteSelector.safeParse(quotes[0]) : undefined;
    const p = positions.length === 1 ? positionSelector.safeParse(positions[0]) : undefined;
    const problems: string[] = [];
    if (!q?.success) problems.push(q ? q.error.issues[0]!.message : 'exactly one TextQuoteSelector is required');
    if (!p?.success) problems.push(p ? p.error.issues[0]!.message : 'exactly one TextPositionSelector is required');
    else if (p.data.start > p.data.end) problems.push('TextPositionSelector start is after end');
    const comments = (a.body ?? []).filter((b) => b.purpose === 'commenting');
    if (comments.length > 1) problems.push('at most one commenting body (the note) is allowed');
    let docId = '';
    try {
      docId = decodeURIComponent(a.target.source.slice(DUIKOU_DOC_PREFIX.length));
    } catch {
      problems.push('target.source is not a valid percent-encoded document id');
    }
    let id = a.id.slice(9);
    if (a.id.startsWith(DUIKOU_ANNOTATION_PREFIX)) {
      try {
        id = decodeURIComponent(a.id.slice(DUIKOU_ANNOTATION_PREFIX.length));
      } catch {
        problems.push('id is not a valid percent-encoded annotation id');
      }
    }
    if (problems.length > 0 || !q?.success || !p?.success) {
      for (const message of problems) ctx.addIssue({ code: 'custom', message, path: ['target'] });
      return z.NEVER;
    }
    return {
      id,
      docId,
      start: p.data.start,
      end: p.data.end,
      exact: q.data.exact,
      prefix: q.data.prefix,
      suffix: q.data.suffix,
      note: comments[0]?.value ?? '',
      colour: a['duikou:colour'],
      tags: (a.body ?? []).filter((b) => b.purpose === 'tagging').map((b) => b.value),
      createdAt: a.created,
      updatedAt: a.modified,
      textHash: a['duikou:textHash'],
      status: a['duikou:status'],
      anchorMethod: a['duikou:anchorMethod'],
      createdBy: a.creator?.name ?? IMPLICIT_OWNER,
      updatedBy: a['duikou:modifiedBy'] ?? a.creator?.name ?? IMPLICIT_OWNER,
      ...(a['duikou:mergedFrom'] ? { mergedFrom: a['duikou:mergedFrom'] } : {}),
    };
  });

const tagSchema = z.object({
  name: z.string().refine((s) => s.trim() !== '', { error: 'a tag needs a name' }),
  colour: z.string().regex(COLOUR, { error: 'colour must be #rgb or #rrggbb' }).nullable(),
  description: z.string().default(''),
});

const collectionSchema = z.object({
  type: z.literal('AnnotationCollection'),
  'duikou:format': z.literal(BACKUP_FORMAT, { error: `not a duikou backup ("duikou:format" must be "${BACKUP_FORMAT}")` }),
  'duikou:version': z.literal(BACKUP_VERSION, { error: `unsupported backup version (this duikou reads version ${BACKUP_VERSION})` }),
  'duikou:tags': z.array(tagSchema).default([]),
  total: z.number().int().nonnegative().optional(),
  first: z.object({ type: z.literal('AnnotationPage'), items: z.array(annotationSchema) }).optional(),
});

const backupSchema = z.union([collectionSchema, z.array(annotationSchema)]);

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`)
    .join('; ');
}

function bad(detail: string): UserInputError {
  return new UserInputError('bad_backup', `Not a valid duikou backup (备份文件无效): ${detail}`);
}

/**
 * Read a duikou backup: the parsed JSON (or its text) of an
 * `AnnotationCollection` written by {@link exportWebAnnotations}, or a bare
 * JSON array of its annotations. Returns the annotations (in file order) and
 * tag definitions; throws a `UserInputError` (`bad_backup`) saying what is
 * wrong and where.
 */
export function parseWebAnnotationBackup(json: unknown): WebAnnotationBackup {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (e) {
      throw bad(`the file is not JSON (${(e as Error).message})`);
    }
  }
  if (value === null || typeof value !== 'object') throw bad('expected an AnnotationCollection or an array of Annotations');
  const parsed = backupSchema.safeParse(value);
  if (!parsed.success) {
    // A union reports every branch; report the branch the input looks like.
    const branch = Array.isArray(value) ? z.array(annotationSchema) : collectionSchema;
    const again = branch.safeParse(value);
    throw bad(again.success ? describeIssues(parsed.error) : describeIssues(again.error));
  }
  const data = parsed.data;
  const annotations = Array.isArray(data) ? data : (data.first?.items ?? []);
  const tags = Array.isArray(data) ? [] : data['duikou:tags'];
  if (!Array.isArray(data) && data.total !== undefined && data.total !== annotations.length) {
    throw bad(`"total" says ${data.total} annotations but the file holds ${annotations.length}`);
  }
  const seen = new Set<string>();
  for (const a of annotations) {
    if (seen.has(a.id)) throw bad(`annotation ${a.id} appears twice`);
    seen.add(a.id);
  }
  const names = new Set<string>();
  for (const t of tags) {
    if (names.has(t.name)) throw bad(`tag "${t.name}" is defined twice`);
    names.add(t.name);
  }
  return { annotations, tags };
}
