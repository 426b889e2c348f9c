/**
 * Realistic fixtures shared by the export tests: a Chinese and an English
 * paper from the corpus (text abridged) with a handful of annotations.
 * Not a test file itself (vitest only picks up `*.test.ts`).
 */
import type { ExportAnnotation, ExportDocument, ExportInput, ExportTag } from '../src/export/types.js';

export const zhText =
  '中国特色对口支援机制：成就、经验与价值\n\n王禹澔\n\n摘要:对口支援是中国特色国家治理的重要方式和机制。' +
  '在实践中,这一机制在区域均衡发展、基础设施建设、灾后重建等方面取得了诸多佳绩。\n\n' +
  '三、对口支援的经验\n\n教育援藏坚持“组团式”支援,选派骨干教师进藏任教, 培养了一批“带不走”的人才。\n';

export const enText =
  "Changes in Our Government's Counterpart Support Policy, Logic of Evolution and Prospects for Reform\n\n" +
  'Hanjing Wang\n\n3.2.2 Key Nodes\n\n' +
  'The reform process has been deeply influenced by the transformation of the economic system, ' +
  'and has shown obvious path dependence.\nThe birth of the "factory-package commune" model, the convening of ' +
  'the National Conference on Border Defence, and the speeches made at the conference on post-disaster reconstruction ' +
  'are three key points.\n';

export const zhDoc: ExportDocument = {
  id: 'wang-duikou-zhiyuan-mechanism',
  title: '中国特色对口支援机制：成就、经验与价值',
  authors: ['王禹澔'],
  year: 2022,
  venue: '管理世界',
  lang: 'zh',
  text: zhText,
};

export const enDoc: ExportDocument = {
  id: 'wang-counterpart-support-policy',
  title:
    "Changes in Our Government's Counterpart Support Policy, Logic of Evolution and Prospects for Reform: An Analysis based on Historical Institutionalism",
  authors: ['Hanjing Wang'],
  year: 2023,
  venue: 'International Journal of Social Sciences and Public Administration',
  lang: 'en',
  text: enText,
};

export const tags: ExportTag[] = [
  { name: '援藏', colour: '#d94f30', description: '对西藏的对口支援 / counterpart support to Tibet' },
  { name: '援藏/教育', colour: '#3b7dd8', description: 'Education aid: teachers sent "组团式"' },
  { name: 'path dependence', colour: '#2e8b57', description: 'Historical institutionalism, <self-reinforcing> & sticky' },
];

/** An annotation over `needle` in `doc.text` (the `nth` occurrence), with 32 units of context. */
export function annotate(doc: ExportDocument, needle: string, fields: Partial<ExportAnnotation> & { id: string }): ExportAnnotation {
  const text = doc.text!;
  const start = text.indexOf(needle);
  if (start < 0) throw new Error(`"${needle}" not in ${doc.id}`);
  const end = start + needle.length;
  return {
    docId: doc.id,
    start,
    end,
    exact: needle,
    prefix: text.slice(Math.max(0, start - 32), start),
    suffix: text.slice(end, end + 32),
    note: '',
    colour: '#ffd54f',
    tags: [],
    createdAt: '2026-11-20T08:30:00.000Z',
    updatedAt: '2026-11-21T09:15:30.500Z',
    textHash: 'a'.repeat(64),
    status: 'anchored',
    anchorMethod: 'created',
    ...fields,
  };
}

export const annZh1 = annotate(zhDoc, '教育援藏坚持“组团式”支援,选派骨干教师进藏任教', {
  id: '1b4e28ba-2fa1-41d2-883f-0016d3cca427',
  tags: ['援藏/教育'],
  note: '“组团式”教育援藏：与 path dependence 对照, see Wang (2023).',
  section: '三、对口支援的经验',
});
export const annZh2 = annotate(zhDoc, '对口支援是中国特色国家治理的重要方式和机制', {
  id: '6fa459ea-ee8a-4ca4-894e-db77e160355e',
  tags: ['援藏'],
  note: '',
  section: null,
});
export const annEn1 = annotate(enDoc, 'has shown obvious path dependence', {
  id: '0e7c8a8f-3b0a-4d5e-9c1f-2a3b4c5d6e7f',
  tags: ['path dependence', '援藏'],
  note: 'Key claim: *path dependence* — compare 1979 "factory-package" [model].\nSecond line, with a comma, and "quotes".',
  section: '3.2.2 Key Nodes',
  colour: '#a5d6a7',
});
export const annEn2 = annotate(enDoc, 'the National Conference on Border Defence', {
  id: '9d2f6b1c-5e4a-4b3c-8d7e-6f5a4b3c2d1e',
  tags: [],
  note: '',
  section: '3.2.2 Key Nodes',
});
/** Orphaned: the text changed and the quote could not be found again. */
export const annOrphan: ExportAnnotation = {
  ...annotate(enDoc, 'are three key points', {
    id: 'c0ffee00-1234-4abc-8def-0123456789ab',
    tags: ['path dependence'],
    section: '3.2.2 Key Nodes',
  }),
  exact: 'are the three key turning points',
  status: 'orphaned',
  anchorMethod: 'orphaned',
};

export const input: ExportInput = {
  annotations: [annZh1, annZh2, annEn1, annEn2, annOrphan],
  documents: [zhDoc, enDoc],
  tags,
};
