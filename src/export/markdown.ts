/**
 * Markdown export: the researcher's tagged quotes, ready to paste into a draft.
 *
 * Layout (CommonMark):
 *
 *     # 摘录
 *     ## 援藏                      ← one heading per tag (nested) or per paper
 *     ### 教育
 *     > 教育援藏坚持“组团式”支援,…  ← the quote, a blockquote, one `>` line per line
 *
 *     **笔记：** …
 *
 *     — （王禹澔，2022）: 12, § 三、对口支援的经验 · *标签：* 援藏/教育
 *     ## 参考文献
 *     - 王禹澔. 中国特色对口支援机制：成就、经验与价值[J]. 管理世界, 2022.
 *
 * Labels ("Note", "Tags", headings) are in one language (`lang`, see
 * `labels.ts`). The quote is the whole quote (a page-break join closed, see
 * `pipeline/quote.ts`) and the citation gives its page when the paper has
 * page information.
 *
 * Escaping: quotes and notes are the researcher's text, not Markdown, so every
 * character CommonMark could read as syntax is backslash-escaped (see
 * {@link escapeMarkdown}); what a renderer shows is what was highlighted. A
 * newline in a quote or note stays a line break (a CommonMark hard break, `\`
 * at the end of the line); leading indentation of a line is dropped so it
 * cannot become a code block.
 */
import { type CitationStyleOption, formatQuoteCitation, formatReference } from './citation.js';
import { buildTagTree, DocumentIndex, groupByPaper, quoteOrder, type TagNode } from './group.js';
import { type ExportLabels, type ExportLang, defaultExportLang, exportLabels } from './labels.js';
import { type ExportAnnotation, type ExportInput, readerQuote } from './types.js';

/** How the Markdown export arranges and cites the quotes. */
export interface MarkdownOptions {
  /** Group quotes under their tags (default) or under their paper. */
  groupBy?: 'tag' | 'paper';
  /**
   * The tags that get a heading when grouping by tag (default: all). An export
   * filtered to one tag passes that tag and its sub-tags, so its quotes are
   * not repeated under their other tags (which still show on each quote).
   */
  headingTags?: readonly string[];
  /** Tag headings: `nested` (default; `## 援藏` / `### 教育`) or `path` (`## 援藏/教育`). */
  tagHeadings?: 'nested' | 'path';
  /** Citation style; `auto` (default) cites each paper in the style of its language. */
  style?: CitationStyleOption;
  /** Document title (first-level heading; default: the labels' title). */
  title?: string;
  /** Language of the labels; default: that of most of the quotes' papers. */
  lang?: ExportLang;
}

/** Characters escaped anywhere in a line. */
const INLINE_SPECIAL = /[\\`*_<>|~#]/g;

/**
 * Make one line of plain text literal in Markdown: backslash-escape inline
 * syntax characters, `&` that would start an entity, and what makes a block
 * at the start of a line (`-`, `+`, `=`, `1.`, `1)`), and drop leading
 * indentation.
 */
function escapeLine(line: string): string {
  let s = line.replace(/^[ \t]+/, '').replace(INLINE_SPECIAL, '\\$&');
  // Brackets only make a link when `]` is followed by `(`, `[` or `:` (there are
  // no reference definitions in the export): escape those pairs and leave
  // GB/T's `[J]` readable.
  if (/\][([:]/.test(s)) s = s.replace(/[[\]]/g, '\\$&');
  s = s.replace(/&(?=#?[0-9A-Za-z]+;)/g, '\\&');
  s = s.replace(/^([-+=])/, '\\$1').replace(/^(\d+)([.)])/, '$1\\$2');
  return s;
}

/** Escape text for Markdown; lines are kept (joined by `\n`). */
export function escapeMarkdown(text: string): string {
  return text.replace(/\r\n?/g, '\n').split('\n').map(escapeLine).join('\n');
}

/** Lines of text with hard breaks between non-empty lines; `prefix` starts every line. */
function hardBreakLines(text: string, prefix: string): string[] {
  const lines = escapeMarkdown(text).split('\n');
  return lines.map((l, i) => {
    const next = lines[i + 1];
    const brk = l !== '' && next !== undefined && next !== '' ? '\\' : '';
    return l === '' ? prefix.trimEnd() : `${prefix}${l}${brk}`;
  });
}

function heading(level: number, text: string): string {
  return `${'#'.repeat(Math.min(6, Math.max(1, level)))} ${escapeMarkdown(text).replace(/\n/g, ' ')}`;
}

/** The Markdown of one quote: orphan marker, blockquote, note, citation line. */
function renderQuote(a: ExportAnnotation, docs: DocumentIndex, style: CitationStyleOption, l: ExportLabels): string {
  const out: string[] = [];
  const colon = l.colon.trimEnd();
  if (a.status === 'orphaned') {
    out.push(`**⚠ ${l.orphaned}${colon}** ${l.orphanedHelp}`, '');
  }
  out.push(...hardBreakLines(readerQuote(a), '> '), '');
  if (a.note.trim()) {
    const [first, ...rest] = hardBreakLines(a.note.trim(), '');
    out.push(`**${l.note}${colon}** ${first}`, ...rest, '');
  }
  const citation = formatQuoteCitation(docs.get(a.docId), a.section, style, a.page);
  const tags = a.tags.length ? ` · *${l.tags}${colon}* ${a.tags.map((t) => escapeMarkdown(t)).join('; ')}` : '';
  out.push(`— ${escapeMarkdown(citation)}${tags}`, '');
  if (a.createdBy) out.push(`*${l.codedBy}${colon}* ${escapeMarkdown(a.createdBy)}`, '');
  return out.join('\n');
}

/**
 * The Markdown document in pieces (a heading, a quote…), each ending with a
 * newline, so a large export can be streamed as it is written.
 */
export function* markdownChunks(input: ExportInput, options: MarkdownOptions = {}): Generator<string> {
  const style = options.style ?? 'auto';
  const docs = new DocumentIndex(input.documents);
  const annotations = input.annotations;
  const papers = docs.cited(annotations, style);
  const order = quoteOrder(papers);
  const l = exportLabels(options.lang ?? defaultExportLang(annotations, (id) => docs.get(id).lang));
  const block = (...lines: string[]) => `${lines.join('\n')}\n`;
  yield block(heading(1, options.title ?? l.title), '');

  if (annotations.length === 0) {
    yield block(`*${l.noQuotes}*`);
    return;
  }

  if ((options.groupBy ?? 'tag') === 'paper') {
    for (const g of groupByPaper(annotations, papers)) {
      yield block(heading(2, g.doc.title), '', escapeMarkdown(formatReference(g.doc, style)), '');
      for (const a of g.annotations) yield block(renderQuote(a, docs, style, l));
    }
  } else {
    const { roots, untagged } = buildTagTree(annotations, order, options.headingTags);
    const nested = (options.tagHeadings ?? 'nested') === 'nested';
    const visit = function* (n: TagNode): Generator<string> {
      if (nested) {
        // Levels 2…6; deeper tags keep level 6 and show their full path.
        yield block(heading(n.depth + 1, n.depth + 1 > 6 ? n.path : n.label), '');
      } else if (n.annotations.length > 0) {
        yield block(heading(2, n.path), '');
      }
      for (const a of n.annotations) yield block(renderQuote(a, docs, style, l));
      for (const c of n.children) yield* visit(c);
    };
    for (const r of roots) yield* visit(r);
    if (untagged.length > 0) {
      yield block(heading(2, l.untagged), '');
      for (const a of untagged) yield block(renderQuote(a, docs, style, l));
    }
  }

  yield block(heading(2, l.references), '', ...papers.map((d) => `- ${escapeMarkdown(formatReference(d, style))}`));
}

/** Render annotations and metadata as one Markdown document (ends with a newline). */
export function exportMarkdown(input: ExportInput, options: MarkdownOptions = {}): string {
  return [...markdownChunks(input, options)].join('');
}
