/**
 * Reading a section of the persisted state in parts. Node takes one read's
 * length as a 32-bit integer, so the 3.4 GB postings array of a gigabyte of
 * papers could not be read back whole; each read now asks for at most
 * MOST_PER_READ bytes. Writing gigabytes here would be slow, so the parts are
 * made small instead: what is read must be the file's bytes at the position
 * asked, whatever the part size, and a file that ends first gives null.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOST_PER_READ, readSection, readSectionAsync } from '../src/backends/embedded/state-read.js';
import { decodePassages, encodePassages } from '../src/backends/embedded/state-format.js';
import { PASSAGE_KINDS, type Passage } from '../src/core/types.js';

let dir: string;
let fd: number;
/** 1,000 bytes that differ from their neighbours, so a part read at the wrong place shows. */
const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'duikou-state-read-'));
  const file = join(dir, 'state.bin');
  writeFileSync(file, bytes);
  fd = openSync(file, 'r');
});

afterAll(() => {
  closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
});

describe('readSection', () => {
  it('asks each read for at most a gigabyte, below the 2 GiB a read can take', () => {
    expect(MOST_PER_READ).toBeLessThan(2 ** 31);
  });

  it('reads the bytes at the position asked, in parts of any size, on either thread', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 0, max: bytes.length })
          .chain((position) =>
            fc.tuple(fc.constant(position), fc.integer({ min: 0, max: bytes.length - position }), fc.integer({ min: 1, max: 64 })),
          ),
        async ([position, length, most]) => {
          const want = bytes.subarray(position, position + length);
          const sync = readSection(fd, length, position, most);
          const async = await readSectionAsync(fd, length, position, most);
          expect(sync && new Uint8Array(sync)).toEqual(want);
          expect(async && new Uint8Array(async)).toEqual(want);
          // A buffer of its own, at offset 0, so any typed array can view it.
          expect(sync!.byteLength).toBe(length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives null when the file ends before the section does', async () => {
    expect(readSection(fd, 20, bytes.length - 10, 3)).toBeNull();
    expect(await readSectionAsync(fd, 20, bytes.length - 10, 3)).toBeNull();
    expect(readSection(fd, 1, bytes.length)).toBeNull();
  });
});

describe("the state's passage rows", () => {
  it('hold every kind in both languages, and number the kinds as state files written before do', () => {
    // A persisted numbering: reordering it would misread every state file on disk, so it is only appended to.
    expect(PASSAGE_KINDS).toEqual(['paragraph', 'list-item', 'table', 'footnote', 'heading', 'title', 'front-matter', 'reference']);
    const passages: Passage[] = PASSAGE_KINDS.flatMap((kind, i) =>
      (['en', 'zh'] as const).map((lang, j) => ({
        docId: 'p',
        ordinal: 2 * i + j,
        kind,
        lang,
        section: kind === 'heading' ? null : '二、𠀀 Section',
        start: 10 * (2 * i + j),
        end: 10 * (2 * i + j) + 8,
        pieces: [{ start: 10 * (2 * i + j), end: 10 * (2 * i + j) + 8 }],
        id: 100 + 2 * i + j,
        ...(kind === 'heading' && { level: 2 }),
      })),
    );
    const names: string[] = [];
    const rows: number[] = [];
    encodePassages(passages, (s) => (names.includes(s) ? names.indexOf(s) : names.push(s) - 1), rows);
    const { passages: back, next } = decodePassages(Int32Array.from(rows), 0, passages.length, 'p', names);
    expect(next).toBe(rows.length);
    expect(back).toEqual(passages);
  });
});
