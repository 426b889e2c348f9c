import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { csvStream, exportDocx, exportRefiQda, markdownChunks } from '../src/export/index.js';
import { parseWebAnnotationBackup, stringifyWebAnnotations } from '../src/export/webannotation.js';
import { annEn1, annZh1, input, tags } from './export-fixtures.js';

// Two coders' annotations: every export names the coder of each.
const li = { ...annZh1, createdBy: '李伟', updatedBy: 'owner' };
const zhang = { ...annEn1, createdBy: 'Zhang 𠀀', updatedBy: 'Zhang 𠀀' };
const coded = { ...input, annotations: [li, zhang] };

const XSD = fileURLToPath(new URL('../../shared/refi-qda/Project-mrt2019.xsd', import.meta.url));
const xsdMissing = existsSync(XSD) ? null : `${XSD} is missing: the REFI-QDA schema check needs ../shared`;
if (xsdMissing) console.log(`skipped: ${xsdMissing}`);

async function streamText(s: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts).toString('utf8');
}

describe('each annotation’s coder in every export', () => {
  it('W3C JSON: creator, and an exact round trip', () => {
    const text = stringifyWebAnnotations({ annotations: [li, zhang], tags });
    const json = JSON.parse(text) as { first: { items: { creator: { type: string; name: string }; 'duikou:modifiedBy': string }[] } };
    expect(json.first.items.map((i) => i.creator)).toEqual([
      { type: 'Person', name: '李伟' },
      { type: 'Person', name: 'Zhang 𠀀' },
    ]);
    expect(json.first.items[0]!['duikou:modifiedBy']).toBe('owner');
    // A backup holds everything but the derived section.
    expect(parseWebAnnotationBackup(text).annotations).toEqual([li, zhang].map(({ section: _s, ...a }) => a));
  });

  it('CSV: a coder column', async () => {
    const records = parse(await streamText(csvStream(coded.annotations, new Map(coded.documents.map((d) => [d.id, d])))), {
      bom: true,
    }) as string[][];
    const col = records[0]!.indexOf('coder');
    expect(col).toBeGreaterThan(0);
    expect(records.slice(1).map((r) => r[col])).toEqual(['李伟', 'Zhang 𠀀']);
  });

  // One language per file, as every other label: the coder's line was written in both.
  it.each([
    ['en', '*Coded by:* 李伟', '*Coded by:* Zhang 𠀀', '编码者'],
    ['zh', '*编码者：* 李伟', '*编码者：* Zhang 𠀀', 'Coded by'],
  ] as const)("Markdown in %s: an attribution line per quote, in the labels' language", (lang, li, zhang, other) => {
    const md = [...markdownChunks(coded, { lang })].join('');
    expect(md).toContain(li);
    expect(md).toContain(zhang);
    expect(md).not.toContain(other);
  });

  it.each([
    ['en', ' · Coded by: 李伟', '编码者'],
    ['zh', ' · 编码者：李伟', 'Coded by'],
  ] as const)("Word in %s: the coder after the citation, in the labels' language", async (lang, line, other) => {
    const xml = strFromU8(unzipSync(await exportDocx(coded, { lang }))['word/document.xml']!);
    expect(xml).toContain(line);
    expect(xml).not.toContain(other);
  });

  it.skipIf(xsdMissing !== null)(
    'REFI-QDA: every coder a User, each selection and coding by its coder, valid against the schema',
    async () => {
      const zip = unzipSync(await exportRefiQda(coded));
      const qde = strFromU8(zip['project.qde']!);
      const users = [...qde.matchAll(/<User guid="([^"]+)" name="([^"]+)"\/>/g)].map((m) => ({ guid: m[1]!, name: m[2]! }));
      expect(users.map((u) => u.name).sort()).toEqual(['duikou', 'owner', 'Zhang 𠀀', '李伟'].sort());
      const guidOf = (n: string) => users.find((u) => u.name === n)!.guid;
      const codings = [...qde.matchAll(/<Coding [^>]*creatingUser="([^"]+)"/g)].map((m) => m[1]);
      expect(codings).toContain(guidOf('李伟'));
      expect(codings).toContain(guidOf('Zhang 𠀀'));
      expect(qde).toMatch(new RegExp(`<PlainTextSelection [^>]*creatingUser="${guidOf('李伟')}"[^>]*modifyingUser="${guidOf('owner')}"`));
      const result = await validateXML({ xml: [{ fileName: 'project.qde', contents: qde }], schema: [await readFile(XSD, 'utf8')] });
      expect(result.errors).toEqual([]);
      expect(result.valid).toBe(true);
    },
  );
});
