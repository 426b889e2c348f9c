import { describe, expect, it } from 'vitest';
import { UserInputError } from '../src/core/errors.js';
import type { ExportAnnotation } from '../src/export/types.js';
import {
  ANNO_CONTEXT,
  type BackupAnnotation,
  exportWebAnnotations,
  parseWebAnnotationBackup,
  stringifyWebAnnotations,
} from '../src/export/webannotation.js';
import { annEn1, annotate, annZh1, input, tags, zhDoc } from './export-fixtures.js';

/** An annotation without a coder (made before accounts) comes back as the implicit owner's. */
const coded = <T extends { createdBy?: string; updatedBy?: string }>(a: T): T => ({
  ...a,
  createdBy: a.createdBy ?? 'owner',
  updatedBy: a.updatedBy ?? a.createdBy ?? 'owner',
});

const strip = ({ section: _s, ...rest }: ExportAnnotation): BackupAnnotation => rest;
const annotations = input.annotations.map(strip);

/** A document with text outside the BMP before and inside the quote. */
const astralDoc = { ...zhDoc, id: 'astral 文档/1', text: '𠀀𠀁 emoji 😀 then 援藏 and 𪚥 here' };
const astral = strip(
  annotate(astralDoc, '援藏 and 𪚥', { id: '7c9e6679-7425-40de-944b-e07fc1f99ae6', note: 'non-BMP 𠀀 note 🎓', tags: ['援藏/𠀀'] }),
);

describe('exportWebAnnotations', () => {
  const json = exportWebAnnotations({ annotations, tags }, { id: 'urn:uuid:00000000-0000-4000-8000-000000000000' });

  it('writes an AnnotationCollection in the W3C model', () => {
    expect(json['@context'][0]).toBe(ANNO_CONTEXT);
    expect(json.type).toBe('AnnotationCollection');
    expect(json.total).toBe(annotations.length);
    expect(json.first?.items).toHaveLength(annotations.length);
    expect(json['duikou:tags']).toEqual(tags);
  });

  it('maps one annotation onto selectors and bodies', () => {
    const a = json.first!.items[2]!; // annEn1
    expect(a).toMatchObject({
      id: `urn:uuid:${annEn1.id}`,
      type: 'Annotation',
      created: annEn1.createdAt,
      modified: annEn1.updatedAt,
      body: [
        { type: 'TextualBody', purpose: 'tagging', value: 'path dependence' },
        { type: 'TextualBody', purpose: 'tagging', value: '援藏' },
        { type: 'TextualBody', purpose: 'commenting', value: annEn1.note, format: 'text/plain' },
      ],
      target: {
        source: 'urn:duikou:doc:wang-counterpart-support-policy',
        selector: [
          { type: 'TextQuoteSelector', exact: annEn1.exact, prefix: annEn1.prefix, suffix: annEn1.suffix },
          { type: 'TextPositionSelector', start: annEn1.start, end: annEn1.end, 'duikou:unit': 'utf-16' },
        ],
      },
      'duikou:colour': '#a5d6a7',
      'duikou:status': 'anchored',
    });
    // no tags and no note → no body
    expect(json.first!.items[3]!.body).toBeUndefined();
  });

  it('round-trips exactly: export → parse gives the annotations back', () => {
    const text = stringifyWebAnnotations({ annotations: [...annotations, astral], tags });
    const back = parseWebAnnotationBackup(JSON.parse(text));
    expect(back.annotations).toEqual([...annotations, astral].map(coded));
    expect(back.tags).toEqual(tags);
  });

  it('round-trips exactly: parse → export → parse, with text outside the BMP', () => {
    const first = parseWebAnnotationBackup(stringifyWebAnnotations({ annotations: [astral, ...annotations], tags }));
    const second = parseWebAnnotationBackup(stringifyWebAnnotations(first));
    expect(second).toEqual(first);
    const a = second.annotations[0]!;
    expect(a.docId).toBe('astral 文档/1');
    expect(astralDoc.text.slice(a.start, a.end)).toBe(a.exact); // UTF-16 positions
    expect(a.tags).toEqual(['援藏/𠀀']);
  });

  it('writes the page on the target and the whole quote beside exact, and reads the backup back exactly without them', () => {
    const whole = annZh1.exact;
    const joined: BackupAnnotation = {
      ...strip(annZh1),
      exact: `${whole.slice(0, 3)}\n\n脚注\n\n${whole.slice(3)}`,
      quote: whole,
      page: { first: 12, last: 13 },
    };
    const item = exportWebAnnotations({ annotations: [joined] }).first!.items[0]!;
    expect(item.target['duikou:page']).toEqual({ first: 12, last: 13 });
    expect(item.target.selector[0].exact).toBe(joined.exact); // the true text slice
    expect(item.target.selector[0]['duikou:quote']).toBe(whole);
    const plain = exportWebAnnotations({ annotations: [strip(annZh1)] }).first!.items[0]!;
    expect(plain.target).not.toHaveProperty('duikou:page');
    expect(plain.target.selector[0]).not.toHaveProperty('duikou:quote');
    // Page and whole quote are derived again on import: the restored annotation is the stored one.
    const { page: _p, quote: _q, ...stored } = joined;
    const back = parseWebAnnotationBackup(JSON.parse(stringifyWebAnnotations({ annotations: [joined] })));
    expect(back.annotations).toEqual([coded(stored)]);
  });

  it('keeps short colours and tags without a colour', () => {
    const short = { ...annotations[0]!, colour: '#fc0' };
    const plainTag = { name: '援疆', colour: null, description: '' };
    const back = parseWebAnnotationBackup(stringifyWebAnnotations({ annotations: [short], tags: [plainTag] }));
    expect(back).toEqual({ annotations: [coded(short)], tags: [plainTag] });
  });

  it('keeps a non-UUID id and an empty collection', () => {
    const odd = { ...annotations[0]!, id: 'legacy id#1' };
    expect(parseWebAnnotationBackup(exportWebAnnotations({ annotations: [odd] })).annotations[0]!.id).toBe('legacy id#1');
    const empty = exportWebAnnotations({ annotations: [] });
    expect(empty.first).toBeUndefined();
    expect(parseWebAnnotationBackup(empty)).toEqual({ annotations: [], tags: [] });
  });

  it('reads a bare array of annotations and the JSON text', () => {
    const items = exportWebAnnotations({ annotations }).first!.items;
    expect(parseWebAnnotationBackup(items).annotations).toEqual(annotations.map(coded));
    expect(parseWebAnnotationBackup(JSON.stringify(items)).annotations).toEqual(annotations.map(coded));
  });
});

describe('parseWebAnnotationBackup rejects bad input clearly', () => {
  const good = () => JSON.parse(stringifyWebAnnotations({ annotations: [strip(annZh1)], tags }));
  // biome-ignore lint/suspicious/noExplicitAny: tests poke at arbitrary JSON
  type J = any;
  const item = (j: J) => j.first.items[0];
  const cases: [string, (j: J) => unknown, RegExp][] = [
    ['not JSON', () => '{nope', /not JSON/],
    ['a number', () => 42, /AnnotationCollection/],
    ['another format', (j) => ({ ...j, 'duikou:format': 'other' }), /not a duikou backup/],
    ['a future version', (j) => ({ ...j, 'duikou:version': 2 }), /unsupported backup version/],
    [
      'bad colour',
      (j) => {
        item(j)['duikou:colour'] = 'red';
        return j;
      },
      /colour must be #rgb or #rrggbb/,
    ],
    [
      'bad date',
      (j) => {
        item(j).created = 'yesterday';
        return j;
      },
      /ISO 8601/,
    ],
    [
      'bad status',
      (j) => {
        item(j)['duikou:status'] = 'lost';
        return j;
      },
      /duikou:status/,
    ],
    [
      'no quote selector',
      (j) => {
        item(j).target.selector.shift();
        return j;
      },
      /TextQuoteSelector/,
    ],
    [
      'code point unit',
      (j) => {
        item(j).target.selector[1]['duikou:unit'] = 'code-point';
        return j;
      },
      /UTF-16/,
    ],
    [
      'negative start',
      (j) => {
        item(j).target.selector[1].start = -1;
        return j;
      },
      /target/,
    ],
    [
      'start after end',
      (j) => {
        item(j).target.selector[1].start = 1e6;
        return j;
      },
      /start is after end/,
    ],
    [
      'foreign source',
      (j) => {
        item(j).target.source = 'http://example.org/x';
        return j;
      },
      /urn:duikou:doc:/,
    ],
    [
      'body without purpose',
      (j) => {
        item(j).body = [{ type: 'TextualBody', value: 'x' }];
        return j;
      },
      /purpose/,
    ],
    [
      'two notes',
      (j) => {
        item(j).body.push({ type: 'TextualBody', purpose: 'commenting', value: 'b' });
        return j;
      },
      /at most one/,
    ],
    [
      'duplicate ids',
      (j) => {
        j.first.items.push(item(j));
        j.total = 2;
        return j;
      },
      /appears twice/,
    ],
    [
      'wrong total',
      (j) => {
        j.total = 5;
        return j;
      },
      /total/,
    ],
    [
      'duplicate tags',
      (j) => {
        j['duikou:tags'].push(j['duikou:tags'][0]);
        return j;
      },
      /defined twice/,
    ],
    [
      'unknown anchor method',
      (j) => {
        item(j)['duikou:anchorMethod'] = 'guessed';
        return j;
      },
      /anchorMethod/,
    ],
    [
      'bad id',
      (j) => {
        item(j).id = 'urn:uuid:nope';
        return j;
      },
      /urn:uuid/,
    ],
  ];
  it.each(cases)('%s', (_name, mutate, message) => {
    let error: unknown;
    try {
      parseWebAnnotationBackup(mutate(good()));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserInputError);
    expect((error as UserInputError).code).toBe('bad_backup');
    expect((error as UserInputError).status).toBe(400);
    expect((error as Error).message).toMatch(message);
  });
});
