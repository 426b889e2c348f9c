import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { isLoopback, tokenMatches } from '../src/http/security.js';
import { type TestServer, startServer } from './helpers/server.js';

const TOKEN = 'correct-horse-battery-staple-9f3a';
const ROOT = fileURLToPath(new URL('..', import.meta.url));

let dir: string;
let store: AnnotationStore;
let open: TestServer;
let locked: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'duikou-sec-'));
  const engine = new Engine();
  engine.addDocument({
    id: 'd',
    text: '对口支援 counterpart support',
    hash: 'h',
    file: 'd.txt',
    title: 'd',
    authors: [],
    year: null,
    venue: null,
    lang: 'zh',
  });
  store = new AnnotationStore(openDatabase(join(dir, 'duikou.db')));
  open = await startServer({ engine, store });
  locked = await startServer({ engine, store, token: TOKEN });
});
afterAll(async () => {
  await open.close();
  await locked.close();
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
});

const body = JSON.stringify({ docId: 'd', start: 0, end: 4, tags: ['援藏'] });

describe('headers', () => {
  it('sends a strict Content-Security-Policy: no inline scripts or styles, no framing', async () => {
    const res = await fetch(`${open.url}/`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('cross-site writes', () => {
  const post = (headers: Record<string, string>) =>
    fetch(`${open.url}/api/annotations`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('refuses a POST whose Origin is another site', async () => {
    const r = await post({ origin: 'http://evil.example' });
    expect(r.status).toBe(403);
    expect(((await r.json()) as any).error.code).toBe('cross_origin');
  });

  it('refuses a POST a browser marks cross-site', async () => {
    expect((await post({ 'sec-fetch-site': 'cross-site' })).status).toBe(403);
  });

  it('accepts a same-origin POST and one without browser headers (CLI, scripts)', async () => {
    expect((await post({ origin: open.url, 'sec-fetch-site': 'same-origin' })).status).toBe(201);
    expect((await post({})).status).toBe(201);
  });
});

describe('token access', () => {
  it('compares tokens of any length without throwing', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches('x', TOKEN)).toBe(false);
    expect(tokenMatches(undefined, TOKEN)).toBe(false);
    expect(tokenMatches(`${TOKEN}x`, TOKEN)).toBe(false);
  });

  it('knows which addresses are loopback', () => {
    expect(['127.0.0.1', 'localhost', '::1', '[::1]', '127.1.2.3'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '192.168.1.2', '::', 'example.org'].some(isLoopback)).toBe(false);
  });

  it('answers the API 401 and pages with a redirect to the login page without the token', async () => {
    const api = await fetch(`${locked.url}/api/documents`);
    expect(api.status).toBe(401);
    const page = await fetch(`${locked.url}/documents`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/login?next=%2Fdocuments');
  });

  it('accepts Authorization: Bearer', async () => {
    const r = await fetch(`${locked.url}/api/documents`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(200);
  });

  it('logs in with a form that sets an HttpOnly, SameSite cookie', async () => {
    const wrong = await fetch(`${locked.url}/login`, { method: 'POST', body: new URLSearchParams({ token: 'nope' }), redirect: 'manual' });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${locked.url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN, next: '/documents' }),
      redirect: 'manual',
    });
    expect(right.status).toBe(303);
    expect(right.headers.get('location')).toBe('/documents');
    const cookie = right.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const r = await fetch(`${locked.url}/documents`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(r.status).toBe(200);
  });

  it('never redirects off-site after login', async () => {
    const r = await fetch(`${locked.url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN, next: '//evil.example/' }),
      redirect: 'manual',
    });
    expect(r.headers.get('location')).toBe('/');
  });

  it('rate-limits wrong tokens', async () => {
    let last = 0;
    for (let i = 0; i < 25; i++) {
      last = (await fetch(`${locked.url}/api/documents`, { headers: { authorization: `Bearer wrong-${i}` } })).status;
    }
    expect(last).toBe(429);
  });
});

describe('binding', () => {
  it('refuses to start on a non-loopback address without DUIKOU_TOKEN', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT,
      env: { ...process.env, HOST: '0.0.0.0', PORT: '0', DUIKOU_TOKEN: '', DUIKOU_DATA: dir },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('DUIKOU_TOKEN');
  });
});
