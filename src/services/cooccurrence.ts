/**
 * Code co-occurrence: for every pair of tags, how many coded quotes carry
 * both — as ATLAS.ti's and QualCoder's code co-occurrence tables count them.
 *
 * The unit is the annotation. Tags A and B co-occur on an annotation tagged
 * A that is also tagged B, or that overlaps (shares at least one character
 * of the same paper with) an annotation tagged B. A cell counts the
 * annotations of A that co-occur with B plus those of B that co-occur with
 * A, each once: so one annotation tagged A and B counts 1, and two
 * overlapping annotations (one A, one B) count 2 — both quotes are listed
 * behind the cell. The diagonal is the number of annotations tagged A.
 * Tags are the exact tags (a parent tag does not include its children here),
 * orphaned annotations are left out.
 *
 * The unit can also be the passage (paragraph, heading, …): tags A and B
 * co-occur in a passage that annotations tagged A and B both overlap (the
 * same annotation or two). A cell then counts passages, and its quotes are
 * the annotations tagged A or B in those passages.
 */
import type { Passage } from '../core/types.js';
import type { AnnotationKey } from '../store/annotation-types.js';

/** The table: tags in order, and a count for each pair. */
export interface CooccurrenceTable {
  tags: string[];
  /** `counts[i][j]`: annotations where tags i and j co-occur; `counts[i][i]`: annotations tagged i. */
  counts: number[][];
}

const overlaps = (a: AnnotationKey, b: AnnotationKey): boolean => a.docId === b.docId && a.start < b.end && b.start < a.end;

/** Per annotation: the tags it co-occurs with (its own and those of every overlapping annotation). */
function neighbourTags(annotations: readonly AnnotationKey[]): Map<AnnotationKey, Set<string>> {
  const out = new Map<AnnotationKey, Set<string>>();
  const byDoc = new Map<string, AnnotationKey[]>();
  for (const a of annotations) {
    const list = byDoc.get(a.docId);
    if (list) list.push(a);
    else byDoc.set(a.docId, [a]);
  }
  for (const list of byDoc.values()) {
    const sorted = [...list].sort((x, y) => x.start - y.start);
    for (const a of sorted) out.set(a, new Set(a.tags));
    // Sweep: each annotation meets the later ones that start before it ends.
    for (let i = 0; i < sorted.length; i++) {
      const a = sorted[i]!;
      for (let j = i + 1; j < sorted.length && sorted[j]!.start < a.end; j++) {
        const b = sorted[j]!;
        if (!overlaps(a, b)) continue;
        for (const t of b.tags) out.get(a)!.add(t);
        for (const t of a.tags) out.get(b)!.add(t);
      }
    }
  }
  return out;
}

/**
 * The annotations behind one cell: those tagged `a` that co-occur with `b`,
 * and those tagged `b` that co-occur with `a` (for `a === b`: those tagged `a`).
 */
export function cooccurringAnnotations(annotations: readonly AnnotationKey[], a: string, b: string): AnnotationKey[] {
  const live = annotations.filter((x) => x.status !== 'orphaned');
  const near = neighbourTags(live);
  return live.filter((x) => (x.tags.includes(a) && near.get(x)!.has(b)) || (x.tags.includes(b) && near.get(x)!.has(a)));
}

/**
 * The co-occurrence table of the given annotations.
 * @param tagOrder - the tags to show, in order (default: every tag used, by name)
 */
export function cooccurrenceTable(annotations: readonly AnnotationKey[], tagOrder?: readonly string[]): CooccurrenceTable {
  const live = annotations.filter((x) => x.status !== 'orphaned');
  const tags = tagOrder ? [...tagOrder] : [...new Set(live.flatMap((x) => x.tags))].sort();
  const index = new Map(tags.map((t, i) => [t, i]));
  const counts = tags.map(() => tags.map(() => 0));
  const near = neighbourTags(live);
  for (const x of live) {
    const with_ = [...near.get(x)!].map((t) => index.get(t)).filter((i): i is number => i !== undefined);
    for (const own of x.tags) {
      const i = index.get(own);
      if (i === undefined) continue;
      // An annotation counts once per cell, even when it carries both tags of the pair.
      for (const j of with_) {
        if (j === i || x.tags.includes(tags[j]!)) continue;
        counts[i]![j]! += 1;
        counts[j]![i]! += 1;
      }
    }
  }
  // Own pairs (one annotation with both tags): once per annotation; the diagonal: once per tag.
  for (const x of live) {
    const own = x.tags.map((t) => index.get(t)).filter((i): i is number => i !== undefined);
    for (const i of own) for (const j of own) counts[i]![j]! += 1;
  }
  return { tags, counts };
}

/** The passages (any stable keys) an annotation overlaps. */
export type PassagesOf = (a: AnnotationKey) => readonly string[];

/** Per passage: the annotations overlapping it. */
function byPassage(annotations: readonly AnnotationKey[], passagesOf: PassagesOf): Map<string, AnnotationKey[]> {
  const out = new Map<string, AnnotationKey[]>();
  for (const a of annotations) {
    if (a.status === 'orphaned') continue;
    for (const key of passagesOf(a)) {
      const list = out.get(key);
      if (list) list.push(a);
      else out.set(key, [a]);
    }
  }
  return out;
}

/** The co-occurrence table with the passage as the unit: `counts[i][j]` passages where tags i and j are both coded. */
export function passageCooccurrenceTable(
  annotations: readonly AnnotationKey[],
  passagesOf: PassagesOf,
  tagOrder: readonly string[],
): CooccurrenceTable {
  const tags = [...tagOrder];
  const index = new Map(tags.map((t, i) => [t, i]));
  const counts = tags.map(() => tags.map(() => 0));
  for (const list of byPassage(annotations, passagesOf).values()) {
    const present = [...new Set(list.flatMap((a) => a.tags))].map((t) => index.get(t)).filter((i): i is number => i !== undefined);
    for (const i of present) for (const j of present) counts[i]![j]! += 1;
  }
  return { tags, counts };
}

/** The annotations behind a passage-unit cell: those tagged `a` or `b` in passages where both are coded. */
export function passageCooccurringAnnotations(
  annotations: readonly AnnotationKey[],
  passagesOf: PassagesOf,
  a: string,
  b: string,
): AnnotationKey[] {
  const out = new Set<AnnotationKey>();
  for (const list of byPassage(annotations, passagesOf).values()) {
    const tags = new Set(list.flatMap((x) => x.tags));
    if (!tags.has(a) || !tags.has(b)) continue;
    for (const x of list) if (x.tags.includes(a) || x.tags.includes(b)) out.add(x);
  }
  return annotations.filter((x) => out.has(x));
}

/** The units a co-occurrence table can count. */
export type CooccurrenceUnit = 'annotation' | 'passage';

/** `PassagesOf` over a corpus: the ids of the passages whose own text an annotation overlaps. */
export function passagesIn(corpus: { document(id: string): { passages: readonly Passage[] } | undefined }): PassagesOf {
  return (a) =>
    (corpus.document(a.docId)?.passages ?? [])
      .filter((p) => p.pieces.some((pc) => pc.start < a.end && a.start < pc.end))
      .map((p) => `${a.docId}#${p.id}`);
}

/** The table in either unit. */
export function cooccurrence(
  annotations: readonly AnnotationKey[],
  tags: readonly string[],
  unit: CooccurrenceUnit,
  passagesOf: PassagesOf,
): CooccurrenceTable {
  return unit === 'passage' ? passageCooccurrenceTable(annotations, passagesOf, tags) : cooccurrenceTable(annotations, tags);
}

/** The quotes behind a cell in either unit. */
export function cooccurringIn(
  annotations: readonly AnnotationKey[],
  unit: CooccurrenceUnit,
  passagesOf: PassagesOf,
  a: string,
  b: string,
): AnnotationKey[] {
  return unit === 'passage' ? passageCooccurringAnnotations(annotations, passagesOf, a, b) : cooccurringAnnotations(annotations, a, b);
}
