import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startServerProcess, stopProcess } from './helpers/process.js';
import { SAMPLE } from './helpers/sample.js';

const dir = mkdtempSync(join(tmpdir(), 'duikou-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('duikou search', () => {
  it('prints ranked hits for a Chinese query with --lang and --limit', () => {
    const r = runCli(['search', '对口支援', '--lang', 'zh', '--limit', '5'], { DUIKOU_CORPUS: SAMPLE });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\d+ passages match "对口支援"/);
    expect(r.stdout.match(/^\d+\. /gm)).toHaveLength(5);
    expect(r.stdout).toContain('wang-duikou-zhiyuan-mechanism');
  });

  it('--json prints the API JSON', () => {
    const r = runCli(['search', '"key node"', '--json'], { DUIKOU_CORPUS: SAMPLE });
    expect(r.status).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body.mode).toBe('strict');
    // The first hit is the paragraph defining key nodes (a paragraph ranks above the heading "3.2.2. Key Nodes").
    expect(
      body.hits[0].text.slice(body.hits[0].matches[0].start - body.hits[0].start, body.hits[0].matches[0].end - body.hits[0].start),
    ).toBe('key nodes');
  });

  it('prints the near matches of a short result under their heading, and in --json', () => {
    const r = runCli(['search', '新冠疫情'], { DUIKOU_CORPUS: SAMPLE });
    expect(r.status).toBe(0);
    const [hits, near] = r.stdout.split('Near matches: passages with part of the query');
    expect(near).toContain('武汉新冠肺炎疫情防控阻击战');
    expect(hits).not.toContain('武汉新冠肺炎疫情防控阻击战');
    const body = JSON.parse(runCli(['search', '新冠疫情', '--json'], { DUIKOU_CORPUS: SAMPLE }).stdout);
    expect(body.near.some((h: { text: string }) => h.text.includes('武汉新冠肺炎疫情防控阻击战'))).toBe(true);
  });

  it('a bad query is a clear message and exit code 2', () => {
    const r = runCli(['search', 'lang:xx', 'x'], { DUIKOU_CORPUS: SAMPLE });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^duikou: /);
  });
});

describe('duikou backup', () => {
  it('copies the database consistently while the server is writing', async () => {
    const corpus = join(dir, 'corpus');
    const data = join(dir, 'data');
    mkdirSync(corpus);
    copyFileSync(join(SAMPLE, 'zhou-partner-assistance-overview.txt'), join(corpus, 'zhou-partner-assistance-overview.txt'));
    const { child, url } = await startServerProcess({ DUIKOU_CORPUS: corpus, DUIKOU_DATA: data });
    let acknowledged = 0;
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const res = await fetch(`${url}/api/annotations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ docId: 'zhou-partner-assistance-overview', start: i % 300, end: (i % 300) + 10, tags: ['援藏'] }),
        });
        if (res.status === 201) acknowledged++;
      }
    })();
    try {
      while (acknowledged < 50) await new Promise((r) => setTimeout(r, 10));
      const before = acknowledged;
      const file = join(dir, 'backup.db');
      const r = runCli(['backup', file], { DUIKOU_DATA: data });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/integrity check ok/);
      const copy = new Database(file, { readonly: true });
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      const n = (copy.prepare('SELECT count(*) AS n FROM annotations').get() as { n: number }).n;
      copy.close();
      expect(n).toBeGreaterThanOrEqual(before);
      // A second backup to the same file needs --force.
      expect(runCli(['backup', file], { DUIKOU_DATA: data }).status).toBe(2);
    } finally {
      stop = true;
      await writer;
      await stopProcess(child);
    }
  }, 120_000);
});
