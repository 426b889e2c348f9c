/**
 * The code co-occurrence table: one annotation with two tags, two
 * overlapping annotations, annotations that only touch, across papers, and
 * the links from each cell to exactly its quotes.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { en, zh } from '../src/http/messages.js';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import { cooccurrenceTable, cooccurringAnnotations, passageCooccurrenceTable, passagesIn } from '../src/services/cooccurrence.js';
import { type TestServerWithStore, startServerWithStore } from './helpers/server.js';

const ZH = 'wang-duikou-zhiyuan-mechanism';
const EN = 'wang-counterpart-support-policy';

let engine: Engine;
let server: TestServerWithStore;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'duikou-cooc-'));
  cpSync(fileURLToPath(new URL('../corpus', import.meta.url)), dir, { recursive: true });
  engine = await openCorpus(dir);
  server = await startServerWithStore(engine);
}, 120_000);
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Annotate `quote` (its first occurrence, or the part of it from `from` to `to`) in a paper. */
function annotate(docId: string, quote: string, tags: string[], part?: { from: string; to: string }) {
  const doc = engine.requireDocument(docId);
  const at = doc.text.indexOf(quote);
  expect(at, quote).toBeGreaterThanOrEqual(0);
  let start = at;
  let end = at + quote.length;
  if (part) {
    start = at + quote.indexOf(part.from);
    end = at + quote.indexOf(part.to) + part.to.length;
  }
  return server.store.create({ docId, start, end, tags }, doc);
}

describe('code co-occurrence', () => {
  const sentence = '对口支援是中国特色国家治理的重要方式和机制';
  let both: string;
  let a1: string;
  let b1: string;
  let touching: string;

  beforeAll(() => {
    // one annotation with both tags
    both = annotate(EN, 'The counterpart support system has undergone more than 70 years of development', ['定义', '历史']).id;
    // two overlapping annotations: 对口支援是中国特色 and 中国特色国家治理 share 中国特色
    a1 = annotate(ZH, sentence, ['定义'], { from: '对口支援', to: '中国特色' }).id;
    b1 = annotate(ZH, sentence, ['治理'], { from: '中国特色', to: '国家治理' }).id;
    // touching but not overlapping: 的重要 starts where 国家治理 ends
    touching = annotate(ZH, sentence, ['历史'], { from: '的重要', to: '方式' }).id;
  });

  it('counts an annotation with both tags once, and both of two overlapping annotations', () => {
    const t = cooccurrenceTable(server.store.list());
    const cell = (a: string, b: string) => t.counts[t.tags.indexOf(a)]![t.tags.indexOf(b)];
    expect(t.tags).toEqual(['历史', '定义', '治理']);
    expect(cell('定义', '历史')).toBe(1);
    expect(cell('历史', '定义')).toBe(1);
    expect(cell('定义', '治理')).toBe(2);
    expect(cell('治理', '历史')).toBe(0);
    expect(cell('定义', '定义')).toBe(2);
    expect(cell('历史', '历史')).toBe(2);
    expect(
      cooccurringAnnotations(server.store.list(), '定义', '治理')
        .map((a) => a.id)
        .sort(),
    ).toEqual([a1, b1].sort());
    expect(cooccurringAnnotations(server.store.list(), '定义', '历史').map((a) => a.id)).toEqual([both]);
    expect(cooccurringAnnotations(server.store.list(), '治理', '历史').map((a) => a.id)).not.toContain(touching);
  });

  it('shows the table with each cell linking to its quotes on the annotations page, and as CSV', async () => {
    const html = await (await fetch(`${server.url}/cooccurrence`)).text();
    const link = /<a href="([^"]+)" aria-label="定义 × 治理: 2">2<\/a>/.exec(html);
    expect(link, html).not.toBeNull();
    const href = link![1]!.replace(/&amp;/g, '&');
    const cards = await (await fetch(server.url + href)).text();
    const ids = [...cards.matchAll(/<li class="card" id="card-([^"]+)"/g)].map((m) => m[1]);
    expect(ids.sort()).toEqual([a1, b1].sort());

    const res = await fetch(`${server.url}/api/cooccurrence?format=csv`);
    const csv = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await res.arrayBuffer());
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    const rows: string[][] = parse(csv.slice(1));
    // tags by pinyin: 定义 ding, 历史 li, 治理 zhi
    expect(rows[0]).toEqual(['tag', '定义', '历史', '治理']);
    expect(rows[1]).toEqual(['定义', '2', '1', '2']);
    const json = await (await fetch(`${server.url}/api/cooccurrence`)).json();
    expect(json).toMatchObject({ unit: 'annotation', tags: ['定义', '历史', '治理'] });
  });

  it('heads the co-occurrence CSV in the interface language', async () => {
    const rowsIn = async (headers: Record<string, string>) => {
      const res = await fetch(`${server.url}/api/cooccurrence?format=csv`, { headers });
      return parse(new TextDecoder('utf-8', { ignoreBOM: true }).decode(await res.arrayBuffer()).slice(1)) as string[][];
    };
    const zhRows = await rowsIn({ 'Accept-Language': 'zh-CN,zh;q=0.9' });
    expect(zhRows[0]).toEqual([zh['csv.tag'], '定义', '历史', '治理']);
    const enRows = await rowsIn({ 'Accept-Language': 'zh-CN', Cookie: 'duikou_lang=en' });
    expect(enRows[0]).toEqual([en['csv.tag'], '定义', '历史', '治理']);
    expect(zhRows.slice(1)).toEqual(enRows.slice(1));
  });

  it('counts passages coded with both tags when the unit is the passage', async () => {
    // the Chinese sentence's passage has 定义, 治理 and 历史 (on three annotations); the English one 定义 and 历史 (on one)
    const t = passageCooccurrenceTable(server.store.list(), passagesIn(engine), ['定义', '历史', '治理']);
    expect(t.counts).toEqual([
      [2, 2, 1],
      [2, 2, 1],
      [1, 1, 1],
    ]);
    const html = await (await fetch(`${server.url}/cooccurrence?unit=passage`)).text();
    const link = /<a href="([^"]+)" aria-label="历史 × 治理: 1">1<\/a>/.exec(html);
    expect(link, html).not.toBeNull();
    const cards = await (await fetch(server.url + link![1]!.replace(/&amp;/g, '&'))).text();
    const ids = [...cards.matchAll(/<li class="card" id="card-([^"]+)"/g)].map((m) => m[1]);
    expect(ids.sort()).toEqual([b1, touching].sort());
    expect((await fetch(`${server.url}/api/cooccurrence?unit=sentence`)).status).toBe(400);
  });
});
