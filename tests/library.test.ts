/**
 * The library: the shipped sample is read only, and everything the user
 * adds, edits or removes lives in their library under DUIKOU_DATA (or in the
 * folder DUIKOU_CORPUS names). Files duikou writes change only where the
 * user changed something.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Library, listPapers, loadLibraryGlossary, readLibraryOverrides, resolveLibrary } from '../src/library/library.js';
import { writeMetadataOverride } from '../src/library/metadata.js';
import { ROOT, startServerProcess, stopProcess } from './helpers/process.js';
import { SAMPLE_IDS, copySample } from './helpers/sample.js';

const root = mkdtempSync(join(tmpdir(), 'duikou-library-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A sample copy and an empty library folder. */
function fresh(): Library {
  const dir = join(root, `lib${++n}`);
  mkdirSync(dir);
  return { dir, sample: copySample() };
}

describe('resolveLibrary', () => {
  it('reads the sample beneath DUIKOU_DATA/library when DUIKOU_CORPUS is unset or empty, and only DUIKOU_CORPUS when set', () => {
    for (const env of [{ DUIKOU_DATA: '/d' }, { DUIKOU_DATA: '/d', DUIKOU_CORPUS: '' }]) {
      const lib = resolveLibrary(env);
      expect(lib.dir).toBe(join('/d', 'library'));
      expect(lib.sample).toBe(join(ROOT, 'corpus'));
    }
    expect(resolveLibrary({ DUIKOU_CORPUS: '/mine', DUIKOU_DATA: '/d' })).toEqual({ dir: '/mine', sample: null });
  });
});

describe('listPapers', () => {
  it('lists the sample and the library, a library paper taking the place of a sample paper with its id', async () => {
    const lib = fresh();
    writeFileSync(join(lib.dir, 'wang-counterpart-support-policy.md'), '# Corrected\n\nText.\n');
    writeFileSync(join(lib.dir, 'bilby.txt'), 'Bilby\n\nText.\n');
    const { papers, errors } = await listPapers(lib);
    expect(errors).toEqual([]);
    expect(papers.map((p) => [p.id, p.sample])).toEqual([
      ['bilby', false],
      ['wang-counterpart-support-policy', false],
      ...SAMPLE_IDS.filter((id) => id !== 'wang-counterpart-support-policy').map((id) => [id, true]),
    ]);
  });

  it('leaves out sample papers hidden in the library state', async () => {
    const lib = fresh();
    writeFileSync(join(lib.dir, 'duikou.library.json'), '{ "hidden": ["zhou-partner-assistance-overview"] }\n');
    const ids = (await listPapers(lib)).papers.map((p) => p.id);
    expect(ids).not.toContain('zhou-partner-assistance-overview');
    expect(ids).toHaveLength(SAMPLE_IDS.length - 1);
  });

  it('loads the first of two same-id files in name order and reports the other by name', async () => {
    const dir = join(root, `dup${++n}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'probe.txt'), 'Probe\n\nText.\n');
    writeFileSync(join(dir, 'probe.md'), '# Probe\n\nText.\n');
    const { papers, errors } = await listPapers({ dir, sample: null });
    expect(papers.map((p) => p.file)).toEqual(['probe.md']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: 'probe.txt', code: 'duplicate_id' });
    expect(errors[0]!.message).toContain('probe.md');
  });
});

describe('metadata and glossary of the library', () => {
  it('merges the library metadata over the sample field by field', async () => {
    const lib = fresh();
    writeFileSync(join(lib.dir, 'duikou.metadata.json'), '{ "zhou-partner-assistance-overview": { "year": 2020 } }\n');
    const o = await readLibraryOverrides(lib);
    expect(o['zhou-partner-assistance-overview']).toMatchObject({ year: 2020, authors: ['Zhou, Na'] });
    expect(o['wang-duikou-zhiyuan-mechanism']?.title).toBe('中国特色对口支援机制：成就、经验与价值');
  });

  it('adds the library glossary pairs to the sample pairs', () => {
    const lib = fresh();
    const base = loadLibraryGlossary(lib).entries.length;
    writeFileSync(join(lib.dir, 'duikou.glossary.tsv'), 'zh\ten\tsource\n袋鼠治理\tkangaroo governance\tcurated\n');
    const g = loadLibraryGlossary(lib);
    expect(g.entries).toHaveLength(base + 1);
    expect(g.translationsOf('袋鼠治理').map((t) => t.term)).toEqual(['kangaroo governance']);
  });

  it('rewrites only the edited value of a metadata file, keeping the rest byte for byte', async () => {
    const dir = copySample(['duikou.metadata.json']);
    const path = join(dir, 'duikou.metadata.json');
    const before = readFileSync(path, 'utf8');
    const id = 'zhou-partner-assistance-overview';
    await writeMetadataOverride(dir, id, { title: 'A new title 新标题' });
    const after = readFileSync(path, 'utf8');
    const oldTitle = JSON.stringify(JSON.parse(before)[id].title);
    expect(after).toBe(before.replace(oldTitle, JSON.stringify('A new title 新标题')));

    // The same values again: the file is not written at all.
    const stamp = readFileSync(path);
    await writeMetadataOverride(dir, id, { title: 'A new title 新标题', authors: ['Zhou, Na'] });
    expect(readFileSync(path).equals(stamp)).toBe(true);
  });

  it('writes a new file with 2-space indentation and a final newline, keeping key order', async () => {
    const dir = join(root, `meta${++n}`);
    mkdirSync(dir);
    await writeMetadataOverride(dir, 'b-paper', { title: 'B', year: 2020 });
    await writeMetadataOverride(dir, 'a-paper', { lang: 'zh', title: '甲' });
    const text = readFileSync(join(dir, 'duikou.metadata.json'), 'utf8');
    expect(text).toBe(`${JSON.stringify({ 'b-paper': { title: 'B', year: 2020 }, 'a-paper': { title: '甲', lang: 'zh' } }, null, 2)}\n`);
  });
});

/** A hash of every file under `dir` with its name, to see that nothing in it changed. */
function folderHash(dir: string): string {
  const h = createHash('sha256');
  for (const f of readdirSync(dir).sort()) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest('hex');
}

/** `git status --porcelain` of the repository, or null where this is not a git checkout. */
function gitStatus(): string | null {
  try {
    return execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' });
  } catch {
    return null;
  }
}

describe('the default configuration (the repository corpus/ as the sample, a temp DUIKOU_DATA)', () => {
  it('keeps uploads, metadata edits and removals in the library: corpus/ and the git tree stay as they were', async () => {
    const corpusDir = join(ROOT, 'corpus');
    const hashBefore = folderHash(corpusDir);
    const statusBefore = gitStatus();
    if (statusBefore === null) console.log('library.test: not a git checkout; checking corpus/ by its content hash only');
    const data = join(root, 'default-data');
    const { child, url } = await startServerProcess({ DUIKOU_DATA: data, DUIKOU_CORPUS: '' });
    try {
      for (let i = 0; i < 600; i++) {
        // A connection dropped while the server is busy indexing is asked again.
        const s = (await fetch(`${url}/api/status`)
          .then((r) => r.json())
          .catch(() => null)) as { indexing: boolean; last: unknown } | null;
        if (s && !s.indexing && s.last) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const form = new FormData();
      form.append('files', new Blob(['Bilby Governance\n\nThe bilby model pairs 对口支援 provinces.\n']), 'bilby-governance.txt');
      form.append(
        'files',
        new Blob(['A Corrected Version\n\nCorrected counterpart support text.\n']),
        'wang-counterpart-support-policy.txt',
      );
      const up = await fetch(`${url}/api/documents?replace=1`, { method: 'POST', body: form });
      expect(up.status, await up.clone().text()).toBe(201);
      const added = (await up.json()) as { documents: { id: string; status: string }[] };
      expect(added.documents.map((d) => [d.id, d.status])).toEqual([
        ['bilby-governance', 'added'],
        ['wang-counterpart-support-policy', 'replaced'],
      ]);

      const id = 'zhou-partner-assistance-overview';
      const patch = await fetch(`${url}/api/documents/${id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Edited title 已编辑', year: 2020 }),
      });
      expect(patch.status, await patch.clone().text()).toBe(200);
      // The remove step says what removing does: a sample paper is hidden, a library paper moved aside.
      expect(await (await fetch(`${url}/documents/li-zhong-personalized-pairing`)).text()).toContain('one of the sample papers');
      expect(await (await fetch(`${url}/documents/bilby-governance`)).text()).toContain('is moved to <code>removed/</code>');
      const del = await fetch(`${url}/api/documents/li-zhong-personalized-pairing`, { method: 'DELETE' });
      expect(del.status, await del.clone().text()).toBe(200);
      expect(((await del.json()) as { message: string }).message).toContain('sample');

      const docs = (await (await fetch(`${url}/api/documents`)).json()) as { documents: { id: string; title: string }[] };
      expect(docs.documents.map((d) => d.id).sort()).toEqual(
        ['bilby-governance', ...SAMPLE_IDS.filter((d) => d !== 'li-zhong-personalized-pairing')].sort(),
      );
      expect(docs.documents.find((d) => d.id === id)?.title).toBe('Edited title 已编辑');
      // The replacement is read from the library (its metadata, keyed by id, still comes from the sample's file).
      const replaced = (await (await fetch(`${url}/api/documents/wang-counterpart-support-policy`)).json()) as { text: string };
      expect(replaced.text).toContain('Corrected counterpart support text.');

      const library = join(data, 'library');
      expect(readdirSync(library).sort()).toEqual([
        'bilby-governance.txt',
        'duikou.library.json',
        'duikou.metadata.json',
        'wang-counterpart-support-policy.txt',
      ]);
      expect(JSON.parse(readFileSync(join(library, 'duikou.metadata.json'), 'utf8'))).toEqual({
        [id]: { title: 'Edited title 已编辑', year: 2020 },
      });
      expect(JSON.parse(readFileSync(join(library, 'duikou.library.json'), 'utf8'))).toEqual({ hidden: ['li-zhong-personalized-pairing'] });
    } finally {
      await stopProcess(child);
    }
    expect(folderHash(corpusDir)).toBe(hashBefore);
    if (statusBefore !== null) expect(gitStatus()).toBe(statusBefore);
  }, 120_000);
});
