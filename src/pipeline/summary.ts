/**
 * A paper's own summary — its abstract (摘要), executive summary or summary
 * section — states what the whole paper says about its topic in a paragraph.
 * For a query the summary matches, it is the passage a researcher reads
 * first to see how the paper treats the term, so it ranks a little above
 * the paper's other passages that match as well (see `rank.ts`).
 */
import type { Passage } from '../core/types.js';

/** Headings of a summary section, in the papers' languages. */
const SUMMARY_HEADING = /^\s*(?:abstract|executive summary|summary|摘要|内容提要|提要)(?![\p{L}\p{N}])/iu;
/** First words of a summary paragraph with no heading of its own (`摘要:…`, `Abstract. …`), as analysed terms. */
const SUMMARY_LEAD = new Set(['摘要', '内容提要', 'abstract']);

/** A summary without a heading of its own opens the paper: only its first passages are looked at. */
const LEADING_PASSAGES = 12;

/**
 * Whether a passage is (part of) the paper's summary.
 * @param firstTerm - the passage's first analysed term, for a summary that opens with its label
 *   (asked only for a paper's first passages, since it may need the passage analysed)
 */
export function isSummary(p: Passage, firstTerm: () => string | undefined): boolean {
  if (p.kind !== 'paragraph' && p.kind !== 'list-item') return false;
  if (p.section !== null) return SUMMARY_HEADING.test(p.section);
  return p.ordinal < LEADING_PASSAGES && SUMMARY_LEAD.has(firstTerm() ?? '');
}
