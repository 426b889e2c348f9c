/**
 * HTML → canonical text (htmlparser2): headings become `#` lines, list items
 * `- ` lines, table rows `| … |` lines, and paragraphs, divisions and line
 * breaks separate paragraphs. Scripts, styles, navigation, forms' controls and
 * hidden elements are dropped; entities are decoded by the parser.
 */
import type { ChildNode, Element } from 'domhandler';
import { parseDocument } from 'htmlparser2';
import { CanonicalWriter } from './canonical.js';
import { decodeBytes } from './encoding.js';
import type { ImportResult } from './types.js';

/** Elements dropped with everything inside them. */
const DROP = new Set([
  'script',
  'style',
  'noscript',
  'template',
  'nav',
  'head',
  'title',
  'svg',
  'math',
  'iframe',
  'object',
  'embed',
  'canvas',
  'audio',
  'video',
  'select',
  'button',
  'textarea',
  'input',
  'map',
]);

/** Elements that start and end a paragraph. */
const BLOCK = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'body',
  'caption',
  'center',
  'dd',
  'details',
  'dialog',
  'div',
  'dl',
  'dt',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'header',
  'hgroup',
  'hr',
  'html',
  'legend',
  'main',
  'p',
  'section',
  'summary',
]);

const HEADING = /^h([1-6])$/;
/** Column definitions inside a table: no text of their own. */
const TABLE_COLUMNS = new Set(['colgroup', 'col']);

function isElement(n: ChildNode): n is Element {
  return n.type === 'tag' || n.type === 'script' || n.type === 'style';
}

/** Hidden by the author: `hidden`, `aria-hidden="true"`, `display:none`, or a navigation landmark. */
function dropped(el: Element): boolean {
  if (DROP.has(el.name)) return true;
  const a = el.attribs;
  if (a.hidden !== undefined || a['aria-hidden'] === 'true' || a.role === 'navigation') return true;
  return a.style !== undefined && /display\s*:\s*none/i.test(a.style);
}

/** The text inside a node as one run: blocks and line breaks become spaces; lists and tables are skipped when asked. */
function textOf(n: ChildNode, skipNested: boolean): string {
  if (n.type === 'text') return n.data;
  if (!isElement(n) || dropped(n)) return '';
  if (n.name === 'br') return ' ';
  if (skipNested && (n.name === 'ul' || n.name === 'ol' || n.name === 'table')) return '';
  const inner = n.children.map((c) => textOf(c, skipNested)).join('');
  return BLOCK.has(n.name) || HEADING.test(n.name) || n.name === 'li' || n.name === 'td' || n.name === 'th' ? ` ${inner} ` : inner;
}

/** Writes the DOM under `root` as canonical text. */
class HtmlWalker {
  private inline = '';

  constructor(private readonly w: CanonicalWriter) {}

  /** Writes the pending inline text as a paragraph. */
  flush(): void {
    if (this.inline.trim()) this.w.paragraph(this.inline);
    this.inline = '';
  }

  walk(nodes: ChildNode[]): void {
    for (const n of nodes) {
      if (n.type === 'text') {
        this.inline += n.data;
        continue;
      }
      if (!isElement(n) || dropped(n)) continue;
      const name = n.name;
      const h = HEADING.exec(name);
      if (h) {
        this.flush();
        this.w.heading(Number(h[1]), textOf(n, false));
      } else if (name === 'ul' || name === 'ol') {
        this.flush();
        this.list(n, 0);
        this.w.endGroup();
      } else if (name === 'table') {
        this.flush();
        this.table(n);
        this.w.endGroup();
      } else if (name === 'pre') {
        this.flush();
        this.w.preformatted(textOf(n, false).replace(/^ | $/g, ''));
      } else if (name === 'br' || name === 'hr') {
        this.flush();
      } else if (name === 'li') {
        // A list item outside a list.
        this.flush();
        this.listItem(n, 0);
      } else if (BLOCK.has(name)) {
        this.flush();
        this.walk(n.children);
        this.flush();
      } else this.walk(n.children);
    }
  }

  private list(el: Element, depth: number): void {
    for (const c of el.children) {
      // Text written straight into the list (no <li>) is shown by browsers: an item of its own.
      if (c.type === 'text') this.w.listItem(c.data, depth);
      if (!isElement(c) || dropped(c)) continue;
      if (c.name === 'li') this.listItem(c, depth);
      else if (c.name === 'ul' || c.name === 'ol') this.list(c, depth + 1);
      else this.w.listItem(textOf(c, false), depth);
    }
  }

  private listItem(li: Element, depth: number): void {
    this.w.listItem(textOf(li, true), depth);
    const nested = (n: ChildNode): void => {
      if (!isElement(n) || dropped(n)) return;
      if (n.name === 'ul' || n.name === 'ol') this.list(n, depth + 1);
      else if (n.name === 'table') {
        this.w.endGroup();
        this.table(n);
        this.w.endGroup();
      } else n.children.forEach(nested);
    };
    li.children.forEach(nested);
  }

  private table(el: Element): void {
    const rows = (n: Element): void => {
      for (const c of n.children) {
        if (c.type !== 'text' && (!isElement(c) || dropped(c))) continue;
        if (isElement(c) && c.name === 'tr') this.w.tableRow(this.cells(c));
        else if (isElement(c) && (c.name === 'thead' || c.name === 'tbody' || c.name === 'tfoot')) rows(c);
        else if (!isElement(c) || !TABLE_COLUMNS.has(c.name)) {
          // A caption, or text and elements outside any row (browsers show them above the
          // table): a paragraph between rows rather than lost.
          const text = textOf(c, false);
          if (!text.trim()) continue;
          this.w.endGroup();
          this.w.paragraph(text);
        }
      }
    };
    rows(el);
  }

  /** A row's cells; text or elements outside a cell are shown by browsers, so they make a cell too. */
  private cells(tr: Element): string[] {
    return tr.children
      .map((c) => textOf(c, false))
      .filter((text, i) => {
        const c = tr.children[i]!;
        return (isElement(c) && (c.name === 'td' || c.name === 'th')) || text.trim() !== '';
      });
  }
}

/** The charset a `<meta>` declares in the first 2 KB, if any. */
function declaredCharset(bytes: Uint8Array): string | null {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 2048));
  const m = /<meta[^>]+charset\s*=\s*["']?\s*([\w-]+)/i.exec(head);
  return m?.[1]?.toLowerCase() ?? null;
}

/** Decodes HTML bytes: a BOM or valid UTF-8 wins; otherwise the declared `<meta charset>`, then GB18030. */
export function decodeHtml(bytes: Uint8Array): string {
  const d = decodeBytes(bytes);
  if (d.encoding === 'utf-8' && d.clean) return d.text;
  if (bytes[0] === 0xff || bytes[0] === 0xfe || bytes[0] === 0xef) return d.text;
  const label = declaredCharset(bytes);
  if (label) {
    let encoding: string;
    try {
      encoding = new TextDecoder(label).encoding;
    } catch {
      return d.text; // an unknown label: keep the detected encoding
    }
    return new TextDecoder(htmlMetaEncoding(encoding)).decode(bytes).replace(/\r\n/g, '\n');
  }
  return d.text;
}

/**
 * The encoding a `<meta charset>` stands for, as browsers take it (WHATWG
 * HTML, "prescan"): a page whose bytes could be read for the declaration is
 * not UTF-16, so a UTF-16 declaration means UTF-8, and `x-user-defined`
 * means windows-1252.
 * @param encoding - the canonical name of the declared label (`TextDecoder#encoding`)
 */
export function htmlMetaEncoding(encoding: string): string {
  if (encoding === 'utf-16le' || encoding === 'utf-16be') return 'utf-8';
  if (encoding === 'x-user-defined') return 'windows-1252';
  return encoding;
}

/**
 * How deep elements may nest before the rest is read flat. Browsers do the same:
 * Chromium's parser stops nesting at 512 open elements and adds the deeper ones
 * as siblings. A real page nests a few dozen deep; a page nested thousands deep
 * (generated, or hostile) would otherwise exhaust the walker's stack.
 */
export const MAX_HTML_DEPTH = 512;

/**
 * Flattens everything under the elements at {@link MAX_HTML_DEPTH}: their
 * descendants become their children in document order, emptied of their own,
 * so all the text is still read, in order, without deeper recursion. Iterative,
 * since it is what protects the recursive walks from deep trees.
 */
function flattenDeepElements(roots: ChildNode[]): void {
  const stack: Array<[ChildNode, number]> = roots.map((n) => [n, 1]);
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (!isElement(node)) continue;
    if (depth < MAX_HTML_DEPTH) {
      for (const c of node.children) stack.push([c, depth + 1]);
      continue;
    }
    const flat: ChildNode[] = [];
    const pending: ChildNode[] = [...node.children].reverse();
    while (pending.length > 0) {
      const n = pending.pop()!;
      flat.push(n);
      if (isElement(n)) {
        for (let i = n.children.length - 1; i >= 0; i--) pending.push(n.children[i]!);
        n.children = [];
      }
    }
    node.children = flat;
  }
}

/**
 * Converts an HTML string to canonical text. Without an `<h1>` in the body the
 * page's `<title>` becomes the first heading, so the paper gets its title.
 */
export function htmlToCanonical(html: string): string {
  const dom = parseDocument(html, { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true });
  flattenDeepElements(dom.children);
  const w = new CanonicalWriter();
  const all: Element[] = [];
  const collect = (n: ChildNode): void => {
    if (!isElement(n)) return;
    all.push(n);
    n.children.forEach(collect);
  };
  dom.children.forEach(collect);
  const title = all.find((e) => e.name === 'title');
  const hasH1 = all.some((e) => e.name === 'h1');
  // The title is text only; it is read here and skipped where it stands.
  if (title && !hasH1) w.heading(1, title.children.map((c) => (c.type === 'text' ? c.data : '')).join(''));
  const walker = new HtmlWalker(w);
  walker.walk(dom.children);
  walker.flush();
  return w.finish().text;
}

/** The `.html`/`.htm` importer. */
export async function importHtml(bytes: Uint8Array): Promise<ImportResult> {
  return { text: htmlToCanonical(decodeHtml(bytes)) };
}
