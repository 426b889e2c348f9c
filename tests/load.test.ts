import { loadLibrary } from '../src/library/library.js';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';
import { UserInputError } from '../src/core/errors.js';
import { detectLang, isCjk } from '../src/pipeline/lang.js';
import { decodeText, listCorpusFiles, loadDocument, readMetadataOverrides } from '../src/pipeline/load.js';
import { segment } from '../src/pipeline/segment.js';
import { SAMPLE } from './helpers/sample.js';

const CORPUS = `${SAMPLE}/`;
const dirs: string[] = [];
function tempCorpus(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'duikou-load-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const PAPER =
  'A Study of Pairing\n\nLi Lei, Han Meimei\n\nSchool of Government, Some University\n\nDate of Publication: 3 March 2021\n\n1. Introduction\n\nBody text.\n';

describe('isCjk and detectLang', () => {
  it('knows ideographs in and outside the BMP, compatibility ideographs and 〇', () => {
    for (const ch of ['中', '㐀', '𠀀', '𪜀', '𫝀', '𫠠', '𬺰', '𰀀', '豈', '丽', '〇'])
      expect(isCjk(ch.codePointAt(0) ?? 0), ch).toBe(true);
    for (const ch of ['A', 'é', '、', '。', '😀', 'あ', '한', '1']) expect(isCjk(ch.codePointAt(0) ?? 0), ch).toBe(false);
  });

  it('calls a text Chinese from a 30% share of ideographs among letters', () => {
    // 5 ideographs of 12 letters (42%) is Chinese; 4 of 22 (18%) is not.
    expect(detectLang('对口支援是 support')).toBe('zh');
    expect(detectLang('对口支援 counterpart support')).toBe('en');
    expect(detectLang('The policy of 对口支援 (counterpart support) in China')).toBe('en');
    expect(detectLang('2020 — 1.5%')).toBe('en');
    expect(detectLang('2020 — 1.5%', 'zh')).toBe('zh');
    expect(detectLang('𠀀𠀁 ab')).toBe('zh');
  });
});

describe('decodeText', () => {
  it('strips the BOM and turns CRLF into LF, nothing else', () => {
    const raw = '\uFEFF第一行\r\n𠀀 and 😀\r\nlone\rCR\n';
    const text = decodeText(Buffer.from(raw, 'utf8'));
    expect(text).toBe('第一行\n𠀀 and 😀\nlone\rCR\n');
  });

  it('keeps passage offsets right through BOM, CRLF and non-BMP characters', () => {
    const raw = '\uFEFFTitle 𠀀\r\n\r\n一、总论\r\n\r\n𠀀😀是第一段。\r\n\r\nSecond 𠀁 paragraph.\r\n';
    const text = decodeText(Buffer.from(raw, 'utf8'));
    const ps = segment('t', text, 'zh');
    const second = ps.find((p) => text.slice(p.start, p.end).startsWith('Second'));
    expect(second?.start).toBe(text.indexOf('Second 𠀁'));
    expect(text.slice(second?.start, second?.end)).toBe('Second 𠀁 paragraph.');
    const first = ps.find((p) => p.start === text.indexOf('𠀀😀'));
    expect(text.slice(first?.start, first?.end)).toBe('𠀀😀是第一段。');
    expect(first?.lang).toBe('zh');
  });
});

describe('listCorpusFiles', () => {
  it('lists the papers duikou reads, sorted, without hidden files, data files and other types', async () => {
    const dir = tempCorpus({
      'b.md': 'x',
      'a.txt': 'x',
      'C.TXT': 'x',
      '.hidden.txt': 'x',
      'duikou.metadata.json': '{}',
      'duikou.notes.txt': 'x',
      'paper.pdf': 'x',
      'notes.odt': 'x',
      'program.exe': 'x',
    });
    expect(await listCorpusFiles(dir)).toEqual(['C.TXT', 'a.txt', 'b.md', 'paper.pdf']);
  });
});

describe('metadata', () => {
  it('detects title, byline and a stated year, then applies overrides field by field', async () => {
    const dir = tempCorpus({
      'p.txt': PAPER,
      'duikou.metadata.json': JSON.stringify({ p: { title: 'Better Title', venue: 'Some Journal' } }),
    });
    const doc = await loadDocument(dir, 'p.txt', await readMetadataOverrides(dir));
    expect(doc).toMatchObject({
      id: 'p',
      file: 'p.txt',
      title: 'Better Title',
      authors: ['Li Lei', 'Han Meimei'],
      year: 2021,
      venue: 'Some Journal',
      lang: 'en',
    });
    expect(doc.hash).toBe(createHash('sha256').update(doc.text).digest('hex'));
    const plain = await loadDocument(dir, 'p.txt', {});
    expect(plain.title).toBe('A Study of Pairing');
    expect(plain.venue).toBeNull();
  });

  it('lets an override set the year to null', async () => {
    const dir = tempCorpus({ 'p.txt': PAPER, 'duikou.metadata.json': '{"p": {"year": null}}' });
    const [doc] = (await loadLibrary(dir)).documents;
    expect(doc?.year).toBeNull();
    expect(doc?.authors).toEqual(['Li Lei', 'Han Meimei']);
  });

  it.each([
    ['a year that is a string', '{"p": {"year": "2020"}}'],
    ['an unknown field', '{"p": {"journal": "X"}}'],
    ['authors that are not a list', '{"p": {"authors": "Li Lei"}}'],
    ['a bad language', '{"p": {"lang": "fr"}}'],
    ['broken JSON', '{"p": '],
    ['a list instead of an object', '[]'],
  ])('rejects %s with a UserInputError naming the file', async (_what, content) => {
    const dir = tempCorpus({ 'p.txt': PAPER, 'duikou.metadata.json': content });
    const err = await loadLibrary(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserInputError);
    expect((err as UserInputError).code).toBe('bad_metadata');
    expect((err as Error).message).toContain('duikou.metadata.json');
  });

  it('has no overrides without a metadata file', async () => {
    expect(await readMetadataOverrides(tempCorpus({ 'p.txt': PAPER }))).toEqual({});
  });
});

describe('the five papers', () => {
  it('load with the metadata written in corpus/duikou.metadata.json', async () => {
    const docs = (await loadLibrary(CORPUS)).documents;
    expect(docs.map((d) => d.id)).toEqual([
      'li-zhong-personalized-pairing',
      'wang-counterpart-support-policy',
      'wang-duikou-zhiyuan-mechanism',
      'zheng-wu-task-oriented-network',
      'zhou-partner-assistance-overview',
    ]);
    const written = JSON.parse(readFileSync(join(CORPUS, 'duikou.metadata.json'), 'utf8')) as Record<string, object>;
    for (const d of docs) {
      expect(d).toMatchObject(written[d.id] ?? { missing: true });
      expect(d.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(d.text.includes('\r\n')).toBe(false);
    }
    const zh = docs.find((d) => d.id === 'wang-duikou-zhiyuan-mechanism');
    expect(zh).toMatchObject({
      title: '中国特色对口支援机制：成就、经验与价值',
      authors: ['王禹澔'],
      year: 2022,
      venue: '管理世界',
      lang: 'zh',
    });
    expect(docs.find((d) => d.id === 'zhou-partner-assistance-overview')).toMatchObject({
      year: 2019,
      venue: 'EAI Background Brief No. 1431',
    });
  });

  it('detect what the front matter states even without overrides', async () => {
    const dir = tempCorpus({});
    for (const id of ['wang-duikou-zhiyuan-mechanism', 'zhou-partner-assistance-overview', 'li-zhong-personalized-pairing']) {
      writeFileSync(join(dir, `${id}.txt`), readFileSync(join(CORPUS, `${id}.txt`)));
    }
    const docs = (await loadLibrary(dir)).documents;
    expect(docs.find((d) => d.id === 'wang-duikou-zhiyuan-mechanism')).toMatchObject({ authors: ['王禹澔'], year: 2022, lang: 'zh' });
    expect(docs.find((d) => d.id === 'zhou-partner-assistance-overview')).toMatchObject({ authors: ['ZHOU Na'], year: 2019 });
    expect(docs.find((d) => d.id === 'li-zhong-personalized-pairing')).toMatchObject({
      title: 'Research on the Operation Mechanism of "Personalized Pairing" in Village-Based Assistance',
      authors: ['Danyang Li', 'Chuyuan Zhong'],
      year: null,
    });
  });
});
