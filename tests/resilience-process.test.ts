/**
 * The real `npm start` process against a broken corpus and data folder: it
 * never dies of the corpus (a broken metadata file dropped in, the folder moved
 * away), starts with a broken metadata file, and refuses a damaged or
 * unwritable duikou.db with one clear message naming the file — never a stack
 * trace.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ROOT, runCli, startServerProcess, stopProcess } from './helpers/process.js';

const CORPUS = join(ROOT, 'corpus');
const PAPERS = ['zhou-partner-assistance-overview.txt', 'wang-counterpart-support-policy.txt'];
const root = mkdtempSync(join(tmpdir(), 'duikou-resil-proc-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A copy of two papers (never the tracked corpus itself) and an empty data folder. */
function workspace(files: Record<string, string> = {}) {
  const base = join(root, `w${++n}`);
  const corpus = join(base, 'corpus');
  const data = join(base, 'data');
  mkdirSync(corpus, { recursive: true });
  mkdirSync(data, { recursive: true });
  for (const f of PAPERS) copyFileSync(join(CORPUS, f), join(corpus, f));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(corpus, name), body);
  return { base, corpus, data };
}

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await stopProcess(c);
});

/** Start the server process, collecting what it prints. */
async function serve(corpus: string, data: string) {
  const { child, url } = await startServerProcess({ DUIKOU_CORPUS: corpus, DUIKOU_DATA: data });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  return { child, url, stderr: () => err };
}

async function json(url: string): Promise<any> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return res.json();
}

async function until(cond: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A stack trace's frame lines ("    at foo (file.js:1:2)"). */
const STACK = /^\s+at .+[(:]\d+/mu;
const TRAILING_COMMA = '{\n  "zhou-partner-assistance-overview": {\n    "title": "Broken Title"\n  },\n}\n';

describe('the server process and its corpus', () => {
  it('stays up when a broken metadata file is dropped in, then starts with it, naming file, line and column', async () => {
    const { corpus, data } = workspace();
    const s = await serve(corpus, data);
    await until(
      async () => (await json(`${s.url}/api/status`)).documents === PAPERS.length && !(await json(`${s.url}/api/status`)).indexing,
      'indexing',
    );
    const total = (await json(`${s.url}/api/search?q=Nyingchi`)).total;
    expect(total).toBeGreaterThan(0);

    writeFileSync(join(corpus, 'duikou.metadata.json'), TRAILING_COMMA);
    await until(async () => (await json(`${s.url}/api/status`)).problems.length > 0, 'the problem on the status bar');
    expect((await json(`${s.url}/api/status`)).problems[0]).toMatchObject({ file: 'duikou.metadata.json', line: 5, column: 1 });
    expect(s.child.exitCode).toBeNull();
    expect((await json(`${s.url}/api/search?q=Nyingchi`)).total).toBe(total);
    expect(s.stderr()).toContain('duikou.metadata.json, line 5, column 1');
    expect(s.stderr()).not.toMatch(STACK);
    await stopProcess(s.child);

    const again = await serve(corpus, data);
    await until(async () => (await json(`${again.url}/api/status`)).problems.length > 0, 'the problem at start');
    expect((await json(`${again.url}/api/status`)).problems[0]).toMatchObject({ code: 'bad_metadata', line: 5, column: 1 });
    expect((await json(`${again.url}/api/search?q=Nyingchi`)).total).toBe(total);
    expect(again.stderr()).toContain('duikou.metadata.json, line 5, column 1');
    expect(again.stderr()).not.toMatch(STACK);
  }, 120_000);

  it('stays up when the corpus folder is moved away while it runs', async () => {
    const { base, corpus, data } = workspace();
    const s = await serve(corpus, data);
    await until(
      async () => (await json(`${s.url}/api/status`)).documents === PAPERS.length && !(await json(`${s.url}/api/status`)).indexing,
      'indexing',
    );
    renameSync(corpus, join(base, 'elsewhere'));
    await until(
      async () => (await json(`${s.url}/api/status`)).problems.some((p: any) => p.code === 'corpus_missing'),
      'the missing folder',
    );
    expect(s.child.exitCode).toBeNull();
    expect((await json(`${s.url}/api/search?q=Nyingchi`)).total).toBeGreaterThan(0);
    expect(s.stderr()).toContain(`The corpus folder ${corpus} is missing`);
    expect(s.stderr()).not.toMatch(STACK);
  }, 120_000);
});

/** Run the server expecting it to refuse to start; returns its exit code and output. */
function refusedStart(corpus: string, data: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DUIKOU_TOKEN: '',
      DUIKOU_AUTH: 'none',
      DUIKOU_CORPUS: corpus,
      DUIKOU_DATA: data,
      ...env,
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the server process and its data folder', () => {
  it('stops with one line when its port is taken, printing no address and no sign-in link', async () => {
    const { corpus, data } = workspace();
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    const port = (taken.address() as AddressInfo).port;
    try {
      // With a token, a started server would print the sign-in link carrying it.
      const r = refusedStart(corpus, data, { PORT: String(port), DUIKOU_AUTH: 'token', DUIKOU_TOKEN: 'a-token-for-the-port-test' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
      expect(r.stderr).toMatch(/EADDRINUSE/);
      expect(r.stderr).not.toMatch(STACK);
      expect(r.stdout).not.toContain('running at');
      expect(r.stdout + r.stderr).not.toContain('a-token-for-the-port-test');
    } finally {
      await new Promise((done) => taken.close(done));
    }
  }, 90_000);

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DUIKOU_IMPORT_MEMORY_MB', 'abc'],
  ])(
    'refuses to start with %s=%s, naming the setting',
    (name, value) => {
      const { corpus, data } = workspace();
      const r = refusedStart(corpus, data, { [name]: value });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(name);
      expect(r.stderr).toContain(JSON.stringify(value));
      expect(r.stderr).not.toMatch(STACK);
      expect(r.stdout).not.toContain('running at');
    },
    90_000,
  );

  it('refuses a damaged duikou.db with a message naming it and saying to restore a backup, leaving it untouched', () => {
    const { corpus, data } = workspace();
    const file = join(data, 'duikou.db');
    writeFileSync(file, Buffer.from('SQLite format 3\u0000 but then not at all '.repeat(300)));
    const before = readFileSync(file);
    const r = refusedStart(corpus, data);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/damaged/);
    expect(r.stderr).toMatch(/backup/);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout).not.toContain('running at');
    expect(readFileSync(file).equals(before)).toBe(true);
  }, 90_000);

  it('the command line refuses a damaged duikou.db the same way', () => {
    const { data } = workspace();
    const file = join(data, 'duikou.db');
    writeFileSync(file, 'not a database at all');
    const r = runCli(['export', '--format', 'json'], { DUIKOU_DATA: data });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/backup/);
    expect(r.stderr).not.toMatch(STACK);
  }, 90_000);

  it('refuses a data folder it cannot write, naming the file and the folder', (ctx) => {
    const { corpus, base } = workspace();
    let data = join(base, 'read-only-data');
    mkdirSync(data);
    chmodSync(data, 0o555);
    let writable = true;
    try {
      accessSync(data, constants.W_OK);
    } catch {
      writable = false;
    }
    if (writable) {
      // As root, permissions do not stop writes. sysfs refuses to create files even for root: a real
      // folder duikou cannot write in, the same error a researcher's read-only folder gives.
      chmodSync(data, 0o755);
      data = '/sys/kernel';
      let sysWritable = true;
      try {
        writeFileSync(join(data, 'duikou-probe'), '');
      } catch {
        sysWritable = false;
      }
      if (sysWritable) {
        console.log('skipped: running as root, where chmod does not stop writes, and /sys/kernel is writable here');
        ctx.skip();
        return;
      }
      console.log('running as root, where chmod does not stop writes: using /sys/kernel as the folder duikou cannot write');
    }
    const r = refusedStart(corpus, data);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(join(data, 'duikou.db'));
    expect(r.stderr).toMatch(/writable/);
    expect(r.stderr).not.toMatch(STACK);
    // With sign-in on, the token file is the first thing written there.
    const signIn = refusedStart(corpus, data, { DUIKOU_AUTH: '' });
    expect(signIn.status).toBe(1);
    expect(signIn.stderr).toContain(`data folder ${data}`);
    expect(signIn.stderr).toMatch(/writable/);
    expect(signIn.stderr).not.toMatch(STACK);
    chmodSync(join(base, 'read-only-data'), 0o755);
  }, 90_000);
});
