import { readFile } from 'node:fs/promises';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { buildRefiQdaProject, codePointConverter, exportRefiQda, guidFrom, toCodePointOffset } from '../src/export/refiqda.js';
import type { ExportDocument, ExportInput } from '../src/export/types.js';
import { xmlAttr, xmlText } from '../src/export/xml.js';
import { annEn1, annOrphan, annotate, annZh1, input, tags, zhDoc } from './export-fixtures.js';
import { sharedFile } from './helpers/shared.js';

/** The REFI-QDA schema, from ../shared; the tests that validate against it are skipped where it is absent. */
const XSD_PATH = sharedFile('refi-qda/Project-mrt2019.xsd', 'export-refiqda.test', 'the 4 REFI-QDA schema validations');
const withSchema = it.skipIf(XSD_PATH === null);

async function validate(xml: string): Promise<void> {
  const xsd = await readFile(XSD_PATH!, 'utf8');
  const result = await validateXML({ xml: [{ fileName: 'project.qde', contents: xml }], schema: [xsd] });
  if (!result.valid) throw new Error(`project.qde is not valid:\n${result.errors.map((e) => e.rawMessage).join('\n')}\n${xml}`);
}

const unescapeXml = (s: string) =>
  s.replace(/&(#\d+|lt|gt|amp|quot|apos);/g, (_m, e: string) =>
    e === 'lt'
      ? '<'
      : e === 'gt'
        ? '>'
        : e === 'amp'
          ? '&'
          : e === 'quot'
            ? '"'
            : e === 'apos'
              ? "'"
              : String.fromCodePoint(Number(e.slice(1))),
  );

/** The attributes of every `<tag …>` in `xml`. */
function elements(xml: string, tag: string): Record<string, string>[] {
  return [...xml.matchAll(new RegExp(`<${tag}\\b([^>]*?)/?>`, 'g'))].map((m) =>
    Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1]!, unescapeXml(a[2]!)])),
  );
}

function unzip(buf: Buffer): Record<string, string> {
  return Object.fromEntries(Object.entries(unzipSync(new Uint8Array(buf))).map(([k, v]) => [k, strFromU8(v)]));
}

/** A document with text outside the BMP before (and inside) the quote. */
const astralText = '前言 𠀀𠀁 and an emoji 😀👍🏽 before.\n教育援藏坚持“组团式”支援 𪚥, then the rest 🎓.\n';
const astralDoc: ExportDocument = { ...zhDoc, id: 'astral-doc', title: '含扩展B区汉字的文档', text: astralText };
const astralAnn = annotate(astralDoc, '教育援藏坚持“组团式”支援 𪚥', { id: 'A1B2C3D4-E5F6-4789-8abc-def012345678', tags: ['援藏/教育'] });

describe('toCodePointOffset', () => {
  it.each([
    ['abc', 2, 2],
    ['𠀀abc', 2, 1],
    ['𠀀abc', 3, 2],
    ['a😀b😀c', 6, 4],
    ['a😀b😀c', 7, 5],
    ['', 0, 0],
    ['中文', 2, 2],
  ])('%j at %i → %i', (text, u16, cp) => expect(toCodePointOffset(text, u16)).toBe(cp));

  it('agrees with Array.from on every boundary of a mixed text', () => {
    const conv = codePointConverter(astralText);
    let u16 = 0;
    [...astralText].forEach((ch, cp) => {
      expect(conv(u16)).toBe(cp);
      u16 += ch.length;
    });
    expect(conv(astralText.length)).toBe([...astralText].length);
  });

  it('refuses offsets inside a pair or outside the text', () => {
    expect(() => toCodePointOffset('a😀', 2)).toThrow(RangeError);
    expect(() => toCodePointOffset('abc', 4)).toThrow(RangeError);
    expect(() => toCodePointOffset('abc', -1)).toThrow(RangeError);
  });
});

describe('xml escaping', () => {
  it.each([
    ['a < b & c > d', 'a &lt; b &amp; c &gt; d', 'a &lt; b &amp; c &gt; d'],
    ['say "hi"', 'say "hi"', 'say &quot;hi&quot;'],
    ['tab\tnl\ncr\r', 'tab\tnl\ncr&#13;', 'tab&#9;nl&#10;cr&#13;'],
    ['form\ffeed\u0000', 'form\uFFFDfeed\uFFFD', 'form\uFFFDfeed\uFFFD'],
    ['lone \uD800 surrogate', 'lone \uFFFD surrogate', 'lone \uFFFD surrogate'],
    ['𠀀😀 援藏', '𠀀😀 援藏', '𠀀😀 援藏'],
  ])('%j', (raw, text, attr) => {
    expect(xmlText(raw)).toBe(text);
    expect(xmlAttr(raw)).toBe(attr);
  });
});

const full: ExportInput = { ...input, documents: [...input.documents, astralDoc], annotations: [...input.annotations, astralAnn] };
const now = new Date('2026-11-22T10:00:00Z');
const files = unzip(await exportRefiQda(full, { projectName: 'duikou 对口支援', now }));

describe('exportRefiQda', () => {
  const xml = files['project.qde']!;

  it('holds project.qde and one UTF-8 text file per document, exactly its text', () => {
    const sources = elements(xml, 'TextSource');
    expect(sources).toHaveLength(3);
    expect(Object.keys(files).sort()).toEqual(['project.qde', ...sources.map((s) => `sources/${s.guid}.txt`)].sort());
    for (const doc of full.documents) {
      const s = sources.find((x) => x.name === doc.title)!;
      expect(s.plainTextPath).toBe(`internal://${s.guid}.txt`);
      expect(files[`sources/${s.guid}.txt`]).toBe(doc.text);
    }
  });

  withSchema('validates against the REFI-QDA schema', async () => {
    await validate(xml);
  });

  withSchema('is checked by a validator that does catch schema errors', async () => {
    await expect(validate(xml.replace(/isCodable="true"/, ''))).rejects.toThrow(/isCodable/);
    await expect(validate(xml.replace(/guid="[0-9a-f-]+"/, 'guid="not-a-guid"'))).rejects.toThrow(/GUIDType|pattern/);
  });

  it('turns the tag hierarchy into nested codes with colours and descriptions', () => {
    const codebook = xml.slice(xml.indexOf('<CodeBook>'), xml.indexOf('</CodeBook>'));
    const zang = elements(codebook, 'Code').find((c) => c.name === '援藏')!;
    const edu = elements(codebook, 'Code').find((c) => c.name === '教育')!;
    expect(zang).toMatchObject({ guid: guidFrom('code:援藏'), isCodable: 'true', color: '#d94f30' });
    expect(edu).toMatchObject({ guid: guidFrom('code:援藏/教育'), color: '#3b7dd8' });
    // 教育 is inside 援藏: between its opening tag and its closing tag
    const zangOpen = codebook.indexOf(`name="援藏"`);
    const eduAt = codebook.indexOf(`name="教育"`);
    const zangClose = codebook.indexOf('</Code>', zangOpen);
    expect(eduAt).toBeGreaterThan(zangOpen);
    expect(eduAt).toBeLessThan(zangClose);
    expect(codebook).toContain('<Description>Historical institutionalism, &lt;self-reinforcing&gt; &amp; sticky</Description>');
    expect(
      elements(codebook, 'Code')
        .map((c) => c.name)
        .sort(),
    ).toEqual(['path dependence', '援藏', '教育'].sort());
  });

  it('codes each selection with its tags and keeps the note as its description', () => {
    const sel = xml.slice(xml.indexOf(`guid="${annEn1.id}"`));
    const block = sel.slice(0, sel.indexOf('</PlainTextSelection>'));
    expect(block).toContain(`<Description>${xmlText(annEn1.note)}</Description>`);
    const refs = elements(block, 'CodeRef').map((r) => r.targetGUID);
    expect(refs).toEqual([guidFrom('code:path dependence'), guidFrom('code:援藏')]);
  });

  it("gives a selection its page in the description, after the note, in the labels' language", () => {
    const paged = { ...annEn1, page: { first: 12, last: 13 } };
    const bare = { ...annZh1, note: '', page: { first: 3, last: 3 } };
    const { xml: x } = buildRefiQdaProject({ ...input, annotations: [paged, bare] }, { lang: 'en' });
    const block = (id: string) => {
      const sel = x.slice(x.indexOf(`guid="${id}"`));
      return sel.slice(0, sel.indexOf('</PlainTextSelection>'));
    };
    expect(block(paged.id)).toContain(`<Description>${xmlText(`${annEn1.note}\n\nPage: 12–13`)}</Description>`);
    expect(block(bare.id)).toContain('<Description>Page: 3</Description>');
    const zh = buildRefiQdaProject({ ...input, annotations: [bare] }, { lang: 'zh' }).xml;
    expect(zh).toContain('<Description>页码：3</Description>');
  });

  it('gives code-point positions that select exactly the quote, also after text outside the BMP', () => {
    const sources = elements(xml, 'TextSource');
    const sels = elements(xml, 'PlainTextSelection');
    expect(sels).toHaveLength(5); // every anchored annotation
    for (const a of [annZh1, annEn1, astralAnn]) {
      const sel = sels.find((s) => s.guid === a.id.toLowerCase())!;
      const doc = full.documents.find((d) => d.id === a.docId)!;
      const text = files[`sources/${sources.find((s) => s.name === doc.title)!.guid}.txt`]!;
      const cps = Array.from(text);
      expect(cps.slice(Number(sel.startPosition), Number(sel.endPosition)).join('')).toBe(a.exact);
    }
    // and the astral case really differs from UTF-16
    const sel = sels.find((s) => s.guid === astralAnn.id.toLowerCase())!;
    expect(Number(sel.startPosition)).toBeLessThan(astralAnn.start);
    expect(Number(sel.endPosition) - Number(sel.startPosition)).toBe(astralAnn.end - astralAnn.start - 1);
  });

  it('keeps orphaned quotes as notes referenced from their source', () => {
    const notes = elements(xml, 'Note');
    expect(notes).toHaveLength(1);
    expect(notes[0]!.guid).toBe(guidFrom(`note:${annOrphan.id}`));
    expect(xml).toContain(`<NoteRef targetGUID="${notes[0]!.guid}"/>`);
    expect(xml).toContain(`“${annOrphan.exact}”`);
    expect(elements(xml, 'PlainTextSelection').some((s) => s.guid === annOrphan.id)).toBe(false);
  });

  it('is deterministic', () => {
    expect(buildRefiQdaProject(full, { now }).xml).toBe(buildRefiQdaProject(full, { now }).xml);
  });

  withSchema('stays valid with nasty input: no tags, a missing document, control characters, stale offsets', async () => {
    const stale = { ...annZh1, id: 'not-a-uuid', start: annZh1.start + 1, end: annZh1.end + 1 };
    const lost = { ...annEn1, id: '11111111-2222-4333-8444-555555555555', docId: 'missing', note: 'form\ffeed & <tag> "q"' };
    const plain = { ...annZh1, id: '22222222-2222-4333-8444-555555555555', tags: [], note: 'a\u0001b' };
    const { xml: x } = buildRefiQdaProject(
      {
        annotations: [stale, lost, plain],
        documents: [zhDoc],
        tags: [
          { name: '援疆', colour: null, description: '' },
          { name: '援藏', colour: '#fc0', description: '' },
        ],
      },
      { now },
    );
    await validate(x);
    expect(elements(x, 'Note')).toHaveLength(2);
    const codes = elements(x, 'Code');
    expect(codes.find((c) => c.name === '援疆')).toEqual({ guid: guidFrom('code:援疆'), name: '援疆', isCodable: 'true' });
    expect(codes.find((c) => c.name === '援藏')).toEqual({ guid: guidFrom('code:援藏'), name: '援藏', isCodable: 'true', color: '#fc0' });
    expect(elements(x, 'PlainTextSelection')).toHaveLength(1);
    // the project-level NoteRef for the annotation whose document is missing
    expect(x).toMatch(/<\/Notes>\n {2}<NoteRef targetGUID="[^"]+"\/>\n<\/Project>/);
  });

  withSchema('is valid for an empty export', async () => {
    await validate(buildRefiQdaProject({ annotations: [], documents: [], tags }, { now }).xml);
    await validate(buildRefiQdaProject({ annotations: [], documents: [] }, { now }).xml);
  });
});

describe('guidFrom', () => {
  it('is a stable version-5 UUID', () => {
    expect(guidFrom('code:援藏')).toBe(guidFrom('code:援藏'));
    expect(guidFrom('code:援藏')).not.toBe(guidFrom('code:援藏/教育'));
    expect(guidFrom('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
