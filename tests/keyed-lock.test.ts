/**
 * The per-key lock that serialises read-then-write changes (a metadata file,
 * a corpus folder): one run at a time per key, in order, different keys side
 * by side, an error releasing the key, nothing left behind once idle; and
 * concurrent metadata edits all landing in the file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockedKeys, withKeyLock } from '../src/core/keyed-lock.js';
import { writeMetadataOverride } from '../src/library/metadata.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('withKeyLock', () => {
  it('runs one function per key at a time, in the order asked, and different keys side by side', async () => {
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const job = (key: string, n: number) =>
      withKeyLock(key, async () => {
        running++;
        most = Math.max(most, running);
        log.push(`${key}${n}+`);
        await tick();
        log.push(`${key}${n}-`);
        running--;
        return n;
      });
    const results = await Promise.all([job('对口', 1), job('对口', 2), job('other', 1), job('对口', 3)]);
    expect(results).toEqual([1, 2, 1, 3]);
    const own = log.filter((e) => e.startsWith('对口'));
    expect(own).toEqual(['对口1+', '对口1-', '对口2+', '对口2-', '对口3+', '对口3-']);
    // "other" started while the first 对口 run was still going.
    expect(log.indexOf('other1+')).toBeLessThan(log.indexOf('对口1-'));
    expect(most).toBe(2);
    expect(lockedKeys()).toEqual([]);
  });

  it('passes an error on and lets the next run go', async () => {
    const failing = withKeyLock('k', async () => {
      await tick();
      throw new Error('broken 𠀀');
    });
    const next = withKeyLock('k', async () => 'ran');
    await expect(failing).rejects.toThrow('broken 𠀀');
    await expect(next).resolves.toBe('ran');
    expect(lockedKeys()).toEqual([]);
  });

  it('keeps every one of many concurrent metadata edits of one file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duikou-lock-'));
    dirs.push(dir);
    const ids = Array.from({ length: 12 }, (_, i) => `paper-${i}`);
    await Promise.all(ids.map((id, i) => writeMetadataOverride(dir, id, { title: `标题 ${i} 𠀀` })));
    const file = JSON.parse(readFileSync(join(dir, 'duikou.metadata.json'), 'utf8')) as Record<string, { title: string }>;
    expect(Object.keys(file).sort()).toEqual([...ids].sort());
    ids.forEach((id, i) => expect(file[id]!.title).toBe(`标题 ${i} 𠀀`));
  });
});
