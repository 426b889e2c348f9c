import { unzipSync, strFromU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import { zipStream } from '../src/export/zip.js';

describe('zipStream', () => {
  it('writes each entry whole and in order, text as UTF-8, past the BMP included', async () => {
    const chunks: Uint8Array[] = [];
    const entries = [
      { name: 'project.qde', content: ['<Project name="对口支援">', '𠀀 mixed 文字', '</Project>'] },
      { name: 'sources/a.txt', content: [new TextEncoder().encode('bytes 字节')] },
    ];
    for await (const c of zipStream(entries)) chunks.push(c);
    const files = unzipSync(Buffer.concat(chunks));
    expect(Object.keys(files)).toEqual(['project.qde', 'sources/a.txt']);
    expect(strFromU8(files['project.qde']!)).toBe('<Project name="对口支援">𠀀 mixed 文字</Project>');
    expect(strFromU8(files['sources/a.txt']!)).toBe('bytes 字节');
  });

  // A large export deflates to little, so the socket never makes it wait: the zip itself must let
  // the server's other requests in, or a big REFI-QDA export held every other answer for seconds.
  it('lets the event loop turn while a large archive is deflated', async () => {
    let turned = false;
    setImmediate(() => (turned = true));
    const pulledAfterTurn: boolean[] = [];
    const piece = 'counterpart support 对口支援 '.repeat(4000);
    function* content(): Generator<string> {
      for (let i = 0; i < 400; i++) {
        pulledAfterTurn.push(turned);
        yield `<Note id="${i}">${piece}</Note>`;
      }
    }
    let bytes = 0;
    for await (const c of zipStream([{ name: 'project.qde', content: content() }])) bytes += c.length;
    expect(bytes).toBeGreaterThan(0);
    expect(pulledAfterTurn).toHaveLength(400);
    // Deflating 40 MB takes far longer than one slice: the loop turned before the last pieces were read.
    expect(pulledAfterTurn.at(-1)).toBe(true);
  });
});
