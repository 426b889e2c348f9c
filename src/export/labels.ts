/**
 * The words an export file writes around the researcher's quotes — headings,
 * "Note", "Tags" — in one language per file, never both side by side.
 *
 * The language is the researcher's choice (`lang=en|zh`); by default it is the
 * language most of the exported quotes' papers are written in
 * ({@link defaultExportLang}). Citations keep their own style's conventions
 * (`p. 12`, `等`), whatever the label language.
 */
import type { Lang } from '../core/types.js';

/** Language of an export's labels. */
export type ExportLang = Lang;

/** Every label an export writes. Both languages must give each one (the compiler and a test check). */
export interface ExportLabels {
  /** Title of a Markdown or Word export. */
  title: string;
  /** What an export without annotations says. */
  noQuotes: string;
  /** Before a quote's note. */
  note: string;
  /** Before a quote's tags. */
  tags: string;
  /** Before the name of the coder who made a quote (Markdown and Word). */
  codedBy: string;
  /** Heading of quotes without tags. */
  untagged: string;
  /** Marker of a quote whose passage was not found again. */
  orphaned: string;
  /** What the orphan marker means. */
  orphanedHelp: string;
  /** Heading of the reference list. */
  references: string;
  /** Before a quote's page (REFI-QDA descriptions). */
  page: string;
  /** Name of a REFI-QDA note holding a quote that could not be placed. */
  unplaced: string;
  /** Why a quote could not be placed in a REFI-QDA source. */
  unplacedOrphaned: string;
  unplacedMissing: string;
  unplacedChanged: string;
  /** The sentence around one of the reasons above. */
  unplacedBecause: string;
  /** `label: value` separator. */
  colon: string;
}

/** The export labels of each language. */
export const EXPORT_LABELS: Readonly<Record<ExportLang, ExportLabels>> = {
  en: {
    title: 'Quotes',
    noQuotes: 'No quotes',
    note: 'Note',
    tags: 'Tags',
    codedBy: 'Coded by',
    untagged: 'Untagged',
    orphaned: 'Orphaned',
    orphanedHelp: 'this passage was not found in the current text of the paper; the quote is as it was saved.',
    references: 'References',
    page: 'Page',
    unplaced: 'Unplaced quote',
    unplacedOrphaned: 'orphaned: the passage was not found in the current text',
    unplacedMissing: 'the document is not in the export',
    unplacedChanged: 'the text at the stored offsets no longer matches the quote',
    unplacedBecause: 'duikou could not place this quote in the source: {reason}',
    colon: ': ',
  },
  zh: {
    title: '摘录',
    noQuotes: '无摘录',
    note: '笔记',
    tags: '标签',
    codedBy: '编码者',
    untagged: '未标记',
    orphaned: '未定位',
    orphanedHelp: '在文献的当前文本中未找到这段文字，引文为保存时的原文。',
    references: '参考文献',
    page: '页码',
    unplaced: '未定位的引文',
    unplacedOrphaned: '未定位：在当前文本中未找到这段文字',
    unplacedMissing: '该文献不在导出内容中',
    unplacedChanged: '所存位置上的文字已与引文不符',
    unplacedBecause: 'duikou 无法在原文中定位这条引文：{reason}',
    colon: '：',
  },
};

/** The labels of a language. */
export function exportLabels(lang: ExportLang = 'en'): ExportLabels {
  return EXPORT_LABELS[lang];
}

/** Read a `lang` option: `en`, `zh`, or empty / `auto` for the default (undefined). */
export function parseExportLang(value: string | undefined): ExportLang | undefined | null {
  if (value === undefined || value === '' || value === 'auto') return undefined;
  if (value === 'en' || value === 'zh') return value;
  return null;
}

/**
 * The label language of an export by default: the language of most of the
 * exported quotes' papers (English when they are as many, or there are none).
 */
export function defaultExportLang(annotations: Iterable<{ docId: string }>, langOf: (docId: string) => Lang | undefined): ExportLang {
  let zh = 0;
  let en = 0;
  for (const a of annotations) {
    const l = langOf(a.docId);
    if (l === 'zh') zh++;
    else if (l === 'en') en++;
  }
  return zh > en ? 'zh' : 'en';
}
