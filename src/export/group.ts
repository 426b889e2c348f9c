/**
 * Grouping shared by the Markdown and Word exports: quotes under a tree of
 * tags (the `/` hierarchy), or under their paper; and the document lookup the
 * citations need.
 */
import { sortForReferences, type CitationStyleOption } from './citation.js';
import type { ExportAnnotation, ExportDocument } from './types.js';

/** The segments of a hierarchical tag name: `援藏/教育` → `['援藏', '教育']` (empty segments dropped). */
export function tagPath(name: string): string[] {
  return name
    .split('/')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A node of the tag tree: one segment of a tag path, its quotes, and its sub-tags. */
export interface TagNode {
  /** The last segment (`教育`). */
  label: string;
  /** The full path (`援藏/教育`). */
  path: string;
  /** 1 for a top-level tag. */
  depth: number;
  /** Quotes tagged with exactly this path. */
  annotations: ExportAnnotation[];
  children: TagNode[];
}

const collator = new Intl.Collator('zh-Hans-CN-u-co-pinyin', { numeric: true });

/**
 * Build the tag tree. An annotation with several tags appears under each of
 * them (once per tag); the parents of a deep tag exist as nodes even when no
 * quote carries them. Siblings are sorted (pinyin collation); quotes within a
 * node are in `order`. With `headingTags`, only those tags make headings (a
 * quote with none of them counts as untagged).
 */
export function buildTagTree(
  annotations: readonly ExportAnnotation[],
  order: (a: ExportAnnotation, b: ExportAnnotation) => number,
  headingTags?: readonly string[],
): { roots: TagNode[]; untagged: ExportAnnotation[] } {
  const root: TagNode = { label: '', path: '', depth: 0, annotations: [], children: [] };
  const index = new Map<string, TagNode>();
  const untagged: ExportAnnotation[] = [];
  const node = (segments: string[]): TagNode => {
    let parent = root;
    for (let i = 0; i < segments.length; i++) {
      const path = segments.slice(0, i + 1).join('/');
      let n = index.get(path);
      if (!n) {
        n = { label: segments[i]!, path, depth: i + 1, annotations: [], children: [] };
        index.set(path, n);
        parent.children.push(n);
      }
      parent = n;
    }
    return parent;
  };
  const headed = headingTags && new Set(headingTags);
  for (const a of annotations) {
    const paths = new Set(
      a.tags
        .filter((t) => !headed || headed.has(t))
        .map((t) => tagPath(t).join('/'))
        .filter(Boolean),
    );
    if (paths.size === 0) untagged.push(a);
    for (const p of paths) node(p.split('/')).annotations.push(a);
  }
  const sort = (n: TagNode): void => {
    n.children.sort((x, y) => collator.compare(x.label, y.label));
    n.annotations.sort(order);
    n.children.forEach(sort);
  };
  sort(root);
  untagged.sort(order);
  return { roots: root.children, untagged };
}

/** Every node of the tree, depth first (a parent before its children). */
export function* walkTagTree(nodes: readonly TagNode[]): Generator<TagNode> {
  for (const n of nodes) {
    yield n;
    yield* walkTagTree(n.children);
  }
}

/**
 * Document lookup for citations. An annotation whose document is missing is
 * cited by its document id rather than dropped.
 */
export class DocumentIndex {
  private readonly byId = new Map<string, ExportDocument>();

  constructor(documents: Iterable<ExportDocument>) {
    for (const d of documents) this.byId.set(d.id, d);
  }

  get(id: string): ExportDocument {
    return this.byId.get(id) ?? { id, title: id, authors: [], year: null, venue: null, lang: 'en' };
  }

  /** The documents the annotations cite, in reference-list order. */
  cited(annotations: readonly ExportAnnotation[], style: CitationStyleOption): ExportDocument[] {
    const ids = new Set(annotations.map((a) => a.docId));
    return sortForReferences(
      [...ids].map((id) => this.get(id)),
      style,
    );
  }
}

/** Order quotes by paper (in `papers` order), then by position, then by id. */
export function quoteOrder(papers: readonly ExportDocument[]): (a: ExportAnnotation, b: ExportAnnotation) => number {
  const rank = new Map(papers.map((d, i) => [d.id, i]));
  return (a, b) =>
    (rank.get(a.docId) ?? Number.MAX_SAFE_INTEGER) - (rank.get(b.docId) ?? Number.MAX_SAFE_INTEGER) ||
    a.start - b.start ||
    a.end - b.end ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Quotes grouped by paper, papers in reference-list order. */
export function groupByPaper(
  annotations: readonly ExportAnnotation[],
  papers: readonly ExportDocument[],
): { doc: ExportDocument; annotations: ExportAnnotation[] }[] {
  const order = quoteOrder(papers);
  return papers
    .map((doc) => ({ doc, annotations: annotations.filter((a) => a.docId === doc.id).sort(order) }))
    .filter((g) => g.annotations.length > 0);
}
