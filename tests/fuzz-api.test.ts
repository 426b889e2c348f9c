/**
 * Property tests at the HTTP boundary: random Unicode and random shapes of
 * input never produce an unhandled error (a 5xx), and whatever the API
 * accepts has offsets inside the document text with the quote they name.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { type TestServerWithStore, startServerWithStore } from './helpers/server.js';
import { paper } from './helpers/paper.js';

/** A document mixing scripts, with text outside the BMP. */
const TEXT = '对口支援 𠀀 counterpart support 😀 援藏/教育 — Key Nodes (林芝地区) 1979';

let server: TestServerWithStore;

beforeAll(async () => {
  const engine = new Engine();
  engine.addDocument(paper('mixed', TEXT, 'zh', { hash: 'h1', title: 'Mixed 混合' }));
  server = await startServerWithStore(engine);
});
afterAll(() => server.close());

const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 30 }));
const anyJson = fc.oneof(anyText, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(anyText, { maxLength: 3 }));

describe('annotation API under random input', () => {
  it('never answers 5xx, and what it stores is inside the text and quotes it exactly', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            docId: fc.oneof(fc.constant('mixed'), anyText),
            start: fc.oneof(fc.integer({ min: -2, max: TEXT.length + 2 }), anyJson),
            end: fc.oneof(fc.integer({ min: -2, max: TEXT.length + 2 }), anyJson),
            exact: fc.oneof(anyText, fc.constant(undefined)),
            note: fc.oneof(anyText, anyJson),
            colour: fc.oneof(fc.constantFrom('#abc', '#a0b1c2', 'red'), anyText),
            tags: fc.oneof(fc.array(anyText, { maxLength: 4 }), anyJson),
            extra: anyJson,
          },
          { requiredKeys: ['docId', 'start', 'end'] },
        ),
        async (body) => {
          const res = await fetch(`${server.url}/api/annotations`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          expect(res.status).toBeLessThan(500);
          const json = (await res.json()) as any;
          if (res.status === 201) {
            expect(json.start).toBeGreaterThanOrEqual(0);
            expect(json.end).toBeLessThanOrEqual(TEXT.length);
            expect(json.start).toBeLessThan(json.end);
            expect(TEXT.slice(json.start, json.end)).toBe(json.exact);
          } else {
            expect(typeof json.error.code).toBe('string');
            expect(typeof json.error.message).toBe('string');
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random search strings never answer 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 60 }), async (q) => {
        const res = await fetch(`${server.url}/api/search?q=${encodeURIComponent(q)}`);
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 200 },
    );
  });

  it('random raw bodies never answer 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 80 }), async (raw) => {
        const res = await fetch(`${server.url}/api/annotations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: raw,
        });
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 200 },
    );
  });
});
