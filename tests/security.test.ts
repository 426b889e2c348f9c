import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_FILE, accessFromSettings, signInUrl } from '../src/http/access.js';
import { Engine } from '../src/backends/embedded/engine.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { FAILURE_LIMIT, hostAllowed, hostRules, isLoopback, parseHostPort, tokenMatches } from '../src/http/security.js';
import { ROOT, startServerProcess, stopProcess } from './helpers/process.js';
import { type TestDeps, type TestServer, startServer } from './helpers/server.js';
import { paper } from './helpers/paper.js';

const TOKEN = 'correct-horse-battery-staple-9f3a';
const TEXT = '对口支援 counterpart support 𠀀援藏';

let dir: string;
let store: AnnotationStore;
let engine: Engine;
let open: TestServer;
let locked: TestServer;

const withToken = (extra: Partial<TestDeps> = {}): Promise<TestServer> =>
  startServer({ engine, store, access: { auth: { token: TOKEN } }, ...extra });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'duikou-sec-'));
  engine = new Engine();
  engine.addDocument(paper('d', TEXT, 'zh', { hash: 'h' }));
  store = new AnnotationStore(openDatabase(join(dir, 'duikou.db')));
  store.create(
    { docId: 'd', start: TEXT.indexOf('援藏'), end: TEXT.indexOf('援藏') + 2, note: 'secret-note-42', tags: ['援藏'] },
    engine.requireDocument('d'),
  );
  open = await startServer({ engine, store });
  locked = await withToken();
});
afterAll(async () => {
  await open.close();
  await locked.close();
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
});

const start = TEXT.indexOf('对口支援');
const body = JSON.stringify({ docId: 'd', start, end: start + '对口支援'.length, tags: ['援藏'] });
const portOf = (url: string) => new URL(url).port;

/** One request over a real socket with exactly these headers (fetch would not let a test forge Host). */
function raw(
  url: string,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers ?? {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * Start the real server with `env` and wait for it to exit (it should refuse to
 * start). Asynchronous: a blocked event loop would starve the servers of this file.
 */
function refusedStart(env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'src/server.ts'],
      { cwd: ROOT, env: { ...process.env, HOST: '127.0.0.1', PORT: '0', DUIKOU_TOKEN: '', DUIKOU_AUTH: '', ...env }, timeout: 30_000 },
      (_err, _stdout, stderr) => resolve({ status: child.exitCode, stderr }),
    );
  });
}

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

describe('DNS rebinding: only allowed host names are served', () => {
  const evil = (url: string) => `evil.example:${portOf(url)}`;

  it.each([
    ['without sign-in', () => open],
    ['with a token', () => locked],
  ])('refuses a write whose Host and Origin a rebinding page forged (%s)', async (_name, server) => {
    const { url } = server();
    const before = store.list().length;
    const r = await raw(url, {
      method: 'POST',
      path: '/api/annotations',
      headers: {
        host: evil(url),
        origin: `http://${evil(url)}`,
        'sec-fetch-site': 'same-origin',
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      },
      body,
    });
    expect(r.status).toBe(421);
    expect(JSON.parse(r.text).error.code).toBe('unknown_host');
    expect(store.list().length).toBe(before);
  });

  it('gives a forged Host no export, page, API answer or static file', async () => {
    for (const path of ['/api/export?format=json', '/api/annotations', '/', '/documents/d', '/static/js/duikou.js', '/login']) {
      const r = await raw(open.url, { path, headers: { host: evil(open.url), 'sec-fetch-site': 'same-origin' } });
      expect(r.status, path).toBe(421);
      expect(r.text, path).not.toContain('secret-note-42');
      expect(r.text, path).not.toContain('𠀀援藏');
    }
  });

  // What a refused request gets is duikou's own page: no stack, no install path (a rebinding page can read it).
  it.each([
    ['a forged Host', '/', { host: 'evil.example' }, 'GET', 421],
    ['a missing static file', '/static/nosuch.js', {}, 'GET', 404],
    ['a cross-site write', '/annotations/x', { origin: 'http://evil.example' }, 'POST', 403],
  ])('answers %s with a page of its own, no stack or path', async (_what, path, headers, method, status) => {
    const r = await raw(open.url, { method, path, headers: { host: new URL(open.url).host, ...headers } });
    expect(r.status).toBe(status);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.text).toContain('duikou');
    for (const leak of [ROOT, 'node_modules', 'Error:', '    at ']) expect(r.text).not.toContain(leak);
  });

  it('serves 127.0.0.1, localhost and [::1] on its own port, and no other port or look-alike', async () => {
    const port = portOf(open.url);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      expect((await raw(open.url, { path: '/api/documents', headers: { host } })).status, host).toBe(200);
    }
    for (const host of [
      `127.0.0.1:${Number(port) + 1}`,
      'localhost',
      `localhost.:${port}`,
      `127.0.0.2:${port}`,
      `localhost.evil.example:${port}`,
      `a@localhost:${port}`,
    ]) {
      expect((await raw(open.url, { path: '/api/documents', headers: { host } })).status, host).toBe(421);
    }
  });

  it('compares a write’s Origin with the allowed hosts, never with Host', async () => {
    const port = portOf(open.url);
    const post = (origin: string) =>
      raw(open.url, {
        method: 'POST',
        path: '/api/annotations',
        headers: { origin, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
        body,
      });
    expect((await post(`http://evil.example:${port}`)).status).toBe(403);
    // Another program on this machine (another port) is another site.
    expect((await post(`http://localhost:${Number(port) + 1}`)).status).toBe(403);
    expect((await post('null')).status).toBe(403);
    expect((await post(`http://localhost:${port}`)).status).toBe(201);
    expect((await post(`http://[::1]:${port}`)).status).toBe(201);
  });

  it('serves names in DUIKOU_ALLOWED_HOSTS, and behind a trusted proxy checks the forwarded host', async () => {
    const s = await startServer({ engine, store, access: { auth: 'none', allowedHosts: ['duikou.lab.example'], trustProxy: 'loopback' } });
    try {
      expect((await raw(s.url, { path: '/api/documents', headers: { host: 'duikou.lab.example' } })).status).toBe(200);
      expect((await raw(s.url, { path: '/api/documents', headers: { 'x-forwarded-host': 'duikou.lab.example' } })).status).toBe(200);
      expect((await raw(s.url, { path: '/api/documents', headers: { 'x-forwarded-host': 'evil.example' } })).status).toBe(421);
      const w = await raw(s.url, {
        method: 'POST',
        path: '/api/annotations',
        headers: {
          origin: 'https://duikou.lab.example',
          'x-forwarded-host': 'duikou.lab.example',
          'x-forwarded-proto': 'https',
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
        },
        body,
      });
      expect(w.status).toBe(201);
    } finally {
      await s.close();
    }
    // Without trust proxy, X-Forwarded-Host is anyone's to send and is ignored.
    expect((await raw(open.url, { path: '/api/documents', headers: { 'x-forwarded-host': 'evil.example' } })).status).toBe(200);
  });

  it('parses host names and builds the allow-list from the bound address', () => {
    expect(parseHostPort('[::1]:3000')).toEqual({ name: '::1', port: 3000 });
    expect(parseHostPort('Example.org')).toEqual({ name: 'example.org', port: null });
    for (const bad of ['a b', 'x:0', 'x:70000', '[zz]:1', 'u@h', '']) expect(parseHostPort(bad), bad).toBeNull();
    const lan = hostRules([], '192.168.1.5');
    expect(hostAllowed(lan, { name: '192.168.1.5', port: 3000 }, 3000, 80)).toBe(true);
    expect(hostAllowed(lan, { name: '192.168.1.6', port: 3000 }, 3000, 80)).toBe(false);
    const any = hostRules(['proxy.example', 'other.example:8443'], '0.0.0.0', ['lab-pc', '10.0.0.7']);
    expect(hostAllowed(any, { name: 'lab-pc', port: 3000 }, 3000, 80)).toBe(true);
    expect(hostAllowed(any, { name: '10.0.0.7', port: 3000 }, 3000, 80)).toBe(true);
    expect(hostAllowed(any, { name: 'proxy.example', port: null }, 3000, 443)).toBe(true);
    expect(hostAllowed(any, { name: 'other.example', port: 8443 }, 3000, 80)).toBe(true);
    expect(hostAllowed(any, { name: 'other.example', port: 443 }, 3000, 80)).toBe(false);
    expect(() => hostRules(['not a host'])).toThrow(/not a host name/);
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
    // The API in any letter case (Express routes it so) answers as the API: JSON, not a redirect to a page.
    for (const path of ['/API/documents', '/Api/search?q=x']) {
      const r = await fetch(`${locked.url}${path}`, { redirect: 'manual' });
      expect(r.status, path).toBe(401);
      expect(((await r.json()) as { error: { code: string } }).error.code, path).toBe('unauthorized');
    }
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

  it('trades the sign-in address’s token for the cookie and redirects to an address without it', async () => {
    const r = await fetch(`${locked.url}/login?token=${encodeURIComponent(TOKEN)}&next=%2Fdocuments%2Fd`, { redirect: 'manual' });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/documents/d');
    const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect(cookie).not.toBe('');
    expect((await fetch(`${locked.url}/documents/d`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${locked.url}/login?token=wrong-token-guess-00000`, { redirect: 'manual' })).status).toBe(401);
  });

  it('never redirects off-site after login', async () => {
    const r = await fetch(`${locked.url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN, next: '//evil.example/' }),
      redirect: 'manual',
    });
    expect(r.headers.get('location')).toBe('/');
  });
});

describe('no lockout: only wrong tokens are counted, and never block the right one', () => {
  const bearer = { authorization: `Bearer ${TOKEN}` };

  it('20+ mistyped addresses and bad requests with the valid token do not count', async () => {
    const s = await withToken();
    try {
      for (let i = 0; i < FAILURE_LIMIT + 5; i++) {
        expect((await fetch(`${s.url}/documents/no-such-paper-${i}`, { headers: bearer })).status).toBe(404);
        expect((await fetch(`${s.url}/api/search?limit=x`, { headers: bearer })).status).toBe(400);
      }
      expect((await fetch(`${s.url}/api/documents`, { headers: bearer })).status).toBe(200);
      // and the failure count is still zero: a wrong token is a plain 401
      expect((await fetch(`${s.url}/api/documents`, { headers: { authorization: 'Bearer wrong-but-long-enough-1' } })).status).toBe(401);
    } finally {
      await s.close();
    }
  });

  it('25 <img> requests from another site (no cookie under SameSite=Strict) lock nothing', async () => {
    const s = await withToken();
    try {
      const img = { 'sec-fetch-site': 'cross-site', 'sec-fetch-dest': 'image', 'sec-fetch-mode': 'no-cors' };
      for (let i = 0; i < 25; i++) {
        const r = await fetch(`${s.url}/api/export?format=json&n=${i}`, { headers: img, redirect: 'manual' });
        expect(r.status).toBe(401);
        expect(await r.text()).not.toContain('secret-note-42');
        expect((await fetch(`${s.url}/documents/nope-${i}`, { headers: img, redirect: 'manual' })).status).toBe(303);
      }
      const login = await fetch(`${s.url}/login`, { method: 'POST', body: new URLSearchParams({ token: TOKEN }), redirect: 'manual' });
      expect(login.status).toBe(303);
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
      expect((await fetch(`${s.url}/api/export?format=json`, { headers: { cookie } })).status).toBe(200);
      expect((await fetch(`${s.url}/api/documents`, { headers: { authorization: 'Bearer wrong-but-long-enough-2' } })).status).toBe(401);
    } finally {
      await s.close();
    }
  });

  it('a flood of wrong tokens gets 429, and the right token still works in every form', async () => {
    const s = await withToken();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < FAILURE_LIMIT + 10; i++) {
        statuses.push((await fetch(`${s.url}/api/documents`, { headers: { authorization: `Bearer wrong-${i}` } })).status);
        statuses.push((await fetch(`${s.url}/api/documents`, { headers: { cookie: `duikou_token_${portOf(s.url)}=wrong-${i}` } })).status);
      }
      expect(statuses.slice(0, FAILURE_LIMIT)).toEqual(Array(FAILURE_LIMIT).fill(401));
      expect(statuses.at(-1)).toBe(429);
      expect((await fetch(`${s.url}/api/documents`, { headers: bearer })).status).toBe(200);
      const form = await fetch(`${s.url}/login`, { method: 'POST', body: new URLSearchParams({ token: TOKEN }), redirect: 'manual' });
      expect(form.status).toBe(303);
      const url = await fetch(`${s.url}/login?token=${encodeURIComponent(TOKEN)}`, { redirect: 'manual' });
      expect(url.status).toBe(303);
      const cookie = (url.headers.get('set-cookie') ?? '').split(';')[0]!;
      expect((await fetch(`${s.url}/api/documents`, { headers: { cookie } })).status).toBe(200);
      // a cookie left from an old token is cleared, so it is counted once
      const stale = await fetch(`${s.url}/documents`, {
        headers: { cookie: `duikou_token_${portOf(s.url)}=old-token-0000000000` },
        redirect: 'manual',
      });
      expect(stale.headers.get('set-cookie')).toMatch(new RegExp(`^duikou_token_${portOf(s.url)}=;`));
      // wrong tokens are still refused
      expect((await fetch(`${s.url}/login`, { method: 'POST', body: new URLSearchParams({ token: 'x' }) })).status).toBe(429);
    } finally {
      await s.close();
    }
  });

  it('counts per address: behind a trusted proxy, one client’s flood does not limit another', async () => {
    const s = await withToken({ access: { auth: { token: TOKEN }, trustProxy: 'loopback' } });
    try {
      const from = (ip: string, token: string) =>
        fetch(`${s.url}/api/documents`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': ip } });
      for (let i = 0; i <= FAILURE_LIMIT; i++) await from('203.0.113.9', `wrong-${i}`);
      expect((await from('203.0.113.9', 'wrong-again')).status).toBe(429);
      expect((await from('198.51.100.4', 'wrong-once')).status).toBe(401);
      expect((await from('203.0.113.9', TOKEN)).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('the token kept in the data folder', () => {
  it('is made at first start with mode 0600 in a private folder, and reused later', () => {
    const data = join(dir, 'fresh-data');
    const first = accessFromSettings({ DUIKOU_DATA: data });
    expect(first.source).toBe('generated');
    const file = join(data, TOKEN_FILE);
    if (process.platform !== 'win32') {
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(data).mode & 0o077).toBe(0);
    }
    const token = (first.access.auth as { token: string }).token;
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
    const again = accessFromSettings({ DUIKOU_DATA: data });
    expect(again.source).toBe('file');
    expect(again.access.auth).toEqual({ token });
    expect(signInUrl('http://127.0.0.1:3000', again)).toBe(`http://127.0.0.1:3000/login?token=${encodeURIComponent(token)}`);
  });

  it('narrows a token file others can read to 0600, with a warning', () => {
    if (process.platform === 'win32') return;
    const data = mkdtempSync(join(dir, 'loose-'));
    writeFileSync(join(data, TOKEN_FILE), 'a-token-someone-wrote-by-hand\n', { mode: 0o644 });
    chmodSync(join(data, TOKEN_FILE), 0o644);
    const c = accessFromSettings({ DUIKOU_DATA: data });
    expect(c.access.auth).toEqual({ token: 'a-token-someone-wrote-by-hand' });
    expect(statSync(join(data, TOKEN_FILE)).mode & 0o777).toBe(0o600);
    expect(c.warnings.join(' ')).toMatch(/0600/);
  });

  it('warns when the data folder is open to other accounts', () => {
    if (process.platform === 'win32') return;
    const data = mkdtempSync(join(dir, 'open-'));
    chmodSync(data, 0o755);
    expect(accessFromSettings({ DUIKOU_DATA: data }).warnings.join(' ')).toContain(`chmod 700 ${data}`);
    chmodSync(data, 0o700);
    expect(accessFromSettings({ DUIKOU_DATA: data }).warnings).toEqual([]);
  });

  it('DUIKOU_TOKEN overrides it; tokens under 16 characters or only spaces are refused', () => {
    const data = join(dir, 'unused');
    expect(accessFromSettings({ DUIKOU_DATA: data, DUIKOU_TOKEN: '  sixteen-chars-ok  ' }).access.auth).toEqual({
      token: 'sixteen-chars-ok',
    });
    expect(() => accessFromSettings({ DUIKOU_DATA: data, DUIKOU_TOKEN: 'a' })).toThrow(/1 characters long; use at least 16/);
    expect(() => accessFromSettings({ DUIKOU_DATA: data, DUIKOU_TOKEN: ' ' })).toThrow(/only spaces/);
    expect(() => accessFromSettings({ DUIKOU_DATA: data, DUIKOU_TOKEN: 'fifteen-chars-x' })).toThrow(/at least 16/);
    expect(() => accessFromSettings({ DUIKOU_DATA: data, DUIKOU_AUTH: 'none', DUIKOU_TOKEN: TOKEN })).toThrow(/both set/);
    expect(() => accessFromSettings({ DUIKOU_DATA: data, DUIKOU_AUTH: 'none', HOST: '0.0.0.0' })).toThrow(/anyone on the network/);
    expect(() => accessFromSettings({ DUIKOU_DATA: data, DUIKOU_AUTH: 'off' })).toThrow(/not known/);
    expect(() => accessFromSettings({ DUIKOU_DATA: data, DUIKOU_TRUST_PROXY: 'my-proxy!' })).toThrow(/DUIKOU_TRUST_PROXY/);
    expect(accessFromSettings({ DUIKOU_DATA: data, DUIKOU_AUTH: 'none' }).warnings.join(' ')).toMatch(/every account on this machine/);
  });

  it.each([
    ['a', /DUIKOU_TOKEN is 1 characters long/],
    [' ', /DUIKOU_TOKEN is only spaces/],
  ])('the server refuses to start with DUIKOU_TOKEN=%j', async (token, message) => {
    const r = await refusedStart({ DUIKOU_TOKEN: token, DUIKOU_DATA: join(dir, 'refused') });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
  });
});

describe('messages are duikou’s own', () => {
  it('ignores ?notice= and ?error= in the address', async () => {
    for (const path of [
      '/documents?notice=Your%20library%20is%20corrupt%2C%20call%20555',
      '/documents/d?error=Your%20library%20is%20corrupt%2C%20call%20555',
    ]) {
      const html = await (await fetch(`${open.url}${path}`)).text();
      expect(html).not.toContain('call 555');
    }
  });

  it('does not repeat the requested path on the 404 page or in the API', async () => {
    const page = await fetch(`${open.url}/Your-library-is-corrupt-call-555`);
    expect(page.status).toBe(404);
    expect(await page.text()).not.toContain('call-555');
    const api = await fetch(`${open.url}/api/Your-library-is-corrupt-call-555`);
    expect(api.status).toBe(404);
    expect(await api.text()).not.toContain('call-555');
  });
});

describe('the server process', () => {
  it('prints a sign-in address whose token is kept, with mode 0600, across restarts', async () => {
    const data = join(dir, 'process-data');
    const corpus = mkdtempSync(join(dir, 'corpus-'));
    const env = { DUIKOU_AUTH: '', DUIKOU_DATA: data, DUIKOU_CORPUS: corpus };
    const first = await startServerProcess(env);
    let token: string | undefined;
    try {
      token = first.token;
      expect(token).toBe(readFileSync(join(data, TOKEN_FILE), 'utf8').trim());
      expect(first.signInUrl).toBe(`${first.url}/login?token=${encodeURIComponent(token!)}`);
      expect((await fetch(`${first.url}/api/documents`)).status).toBe(401);
      const r = await fetch(first.signInUrl!, { redirect: 'manual' });
      expect(r.status).toBe(303);
      expect(r.headers.get('location')).toBe('/');
    } finally {
      await stopProcess(first.child);
    }
    const second = await startServerProcess(env);
    try {
      expect(second.token).toBe(token);
      expect((await fetch(`${second.url}/api/documents`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      await stopProcess(second.child);
    }
  }, 120_000);

  it('refuses DUIKOU_AUTH=none on a non-loopback address', async () => {
    const r = await refusedStart({ HOST: '0.0.0.0', DUIKOU_AUTH: 'none', DUIKOU_DATA: join(dir, 'refused') });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('DUIKOU_AUTH=none');
  });
});
