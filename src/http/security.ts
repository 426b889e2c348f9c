/**
 * Who may talk to duikou, and what a page may do. Researchers keep months of
 * coding work in it; some run it on a shared lab server.
 *
 * - Only requests addressed to an allowed host name are served (127.0.0.1,
 *   localhost and [::1] on the listening port, plus configured names), so a
 *   website whose name is made to resolve to 127.0.0.1 (DNS rebinding) gets
 *   nothing.
 * - helmet's headers with a strict Content-Security-Policy: scripts and styles
 *   only from duikou's own files, nothing inline, no framing.
 * - State-changing requests from another site are refused: Origin must be one
 *   of the allowed hosts (never compared with Host, which a rebinding page
 *   controls), and Sec-Fetch-Site must not say cross-site.
 * - With a token (the default), every request needs it: a sign-in address or
 *   login page sets an HttpOnly, SameSite=Strict cookie, or the API is called
 *   with `Authorization: Bearer`. Tokens are compared in constant time; only
 *   wrong tokens are counted and limited, so no flood can lock out the right one.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import express, { type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { UserInputError } from '../core/errors.js';
import { isApiPath } from './errors.js';

/** How requests are authenticated: not at all, or with one shared secret. */
export type Auth = 'none' | { token: string };

/** Express's `trust proxy` value: off, a hop count, or addresses/subnets/presets (e.g. `loopback`). */
export type TrustProxy = boolean | number | string;

/** Who may reach the app and how it tells. */
export interface Access {
  auth: Auth;
  /**
   * Host names served besides 127.0.0.1, localhost and [::1] on the listening
   * port: `name` (any port) or `name:port`.
   */
  allowedHosts?: readonly string[];
  /** Which proxies' X-Forwarded-* headers to believe (default: none). */
  trustProxy?: TrustProxy;
  /** The address the server binds (HOST): served under its own name too; 0.0.0.0 or :: under every address and name of the machine. */
  bindHost?: string;
}

/** Cookie that carries the token after sign-in (suffixed with the port: browsers share cookies across ports). */
export const TOKEN_COOKIE = 'duikou_token';

/** Wrong tokens one address may send in {@link FAILURE_WINDOW_MS} before further wrong ones get 429. */
export const FAILURE_LIMIT = 20;
/** Window of the failure count. */
export const FAILURE_WINDOW_MS = 15 * 60 * 1000;

/** Whether an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Whether a bind address means every interface of the machine. */
export function isWildcard(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === '0.0.0.0' || h === '::' || h === '';
}

/** A host name with an optional port, as in a Host header or an Origin. */
export interface HostPort {
  /** Lower-case name or address, IPv6 without brackets. */
  name: string;
  /** The port, or null when none was given. */
  port: number | null;
}

/** Parse `name`, `name:port`, `[v6]` or `[v6]:port`; null when malformed. */
export function parseHostPort(value: string): HostPort | null {
  const v = value.trim().toLowerCase();
  let name: string;
  let port: string | undefined;
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d+))?$/.exec(v);
  if (v6) {
    name = v6[1]!;
    port = v6[2];
    if (isIP(name) !== 6) return null;
  } else {
    const m = /^([a-z0-9.-]+)(?::(\d+))?$/.exec(v);
    if (!m) return null;
    name = m[1]!;
    port = m[2];
  }
  if (name === '') return null;
  if (port === undefined) return { name, port: null };
  const n = Number(port);
  return n >= 1 && n <= 65535 ? { name, port: n } : null;
}

/** The host names a request may be addressed to; `port: 'listening'` means the port the request came in on. */
export interface HostRule {
  name: string;
  port: number | 'any' | 'listening';
}

/**
 * The allow-list: loopback names on the listening port, the bound address (for
 * a wildcard bind, every address and name the machine gives), and each
 * configured `name` (any port) or `name:port`.
 * @param bound - the HOST the server listens on, when known
 * @param machineNames - the machine's own addresses and host name, for wildcard binds
 */
export function hostRules(allowedHosts: readonly string[] = [], bound?: string, machineNames: readonly string[] = []): HostRule[] {
  const rules: HostRule[] = ['127.0.0.1', 'localhost', '::1'].map((name) => ({ name, port: 'listening' }));
  const add = (address: string) => {
    const name = address.replace(/^\[|\]$/g, '').toLowerCase();
    if (isIP(name) !== 0 || /^[a-z0-9.-]+$/.test(name)) rules.push({ name, port: 'listening' });
  };
  if (bound !== undefined) {
    if (isWildcard(bound)) machineNames.forEach(add);
    else add(bound);
  }
  for (const entry of allowedHosts) {
    const hp = parseHostPort(entry);
    if (!hp) throw new UserInputError('bad_setting', `"${entry}" is not a host name or name:port`);
    rules.push({ name: hp.name, port: hp.port ?? 'any' });
  }
  return rules;
}

/** Whether `hp` (port null = the scheme's default) matches one of `rules` for a request that came in on `listening`. */
export function hostAllowed(rules: readonly HostRule[], hp: HostPort, listening: number, defaultPort: number): boolean {
  const port = hp.port ?? defaultPort;
  return rules.some((r) => r.name === hp.name && (r.port === 'any' || (r.port === 'listening' ? listening : r.port) === port));
}

const wrongHost = () =>
  new UserInputError(
    'unknown_host',
    'This server does not answer to that host name: open duikou at http://127.0.0.1 or http://localhost on its port, or add the name to DUIKOU_ALLOWED_HOSTS (主机名不在允许列表中)',
    421,
  );

/**
 * Refuse any request whose Host (X-Forwarded-Host from a trusted proxy) is not
 * on the allow-list, before anything else runs. This is what stops DNS
 * rebinding: a page on evil.example that makes its name resolve to 127.0.0.1
 * still sends `Host: evil.example`.
 */
export function allowedHostsOnly(rules: readonly HostRule[]): RequestHandler {
  return (req, _res, next) => {
    const hp = req.host === undefined ? null : parseHostPort(req.host);
    if (hp && hostAllowed(rules, hp, req.socket.localPort ?? 0, req.protocol === 'https' ? 443 : 80)) return next();
    next(wrongHost());
  };
}

/** Security headers; the CSP forbids inline scripts, styles and event handlers. */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // The app is served over plain HTTP on loopback; HSTS would lock browsers out of it.
    strictTransportSecurity: false,
    // same-origin, not helmet's no-referrer: under no-referrer a browser sends `Origin: null`
    // with every form POST, and the same-origin check below refuses the app's own forms
    // (sign-in, upload, rounds). Other sites still get no referrer.
    referrerPolicy: { policy: 'same-origin' },
  });
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const crossOrigin = () => new UserInputError('cross_origin', 'Requests from another site are not allowed (拒绝跨站请求)', 403);

/**
 * Refuse state-changing requests a browser sends from another site. The
 * Origin must be an allowed host: comparing it with Host would let a
 * rebinding page, which sets both, through. Requests without Origin and
 * Sec-Fetch-Site (curl, scripts) are not from a browser page and pass.
 */
export function sameOriginWrites(rules: readonly HostRule[]): RequestHandler {
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const origin = req.get('origin');
    const site = req.get('sec-fetch-site');
    if (origin !== undefined) {
      let url: URL | null = null;
      try {
        url = new URL(origin);
      } catch {
        // "null" and other opaque origins: refused below
      }
      const hp = url && (url.protocol === 'http:' || url.protocol === 'https:') ? parseHostPort(url.host) : null;
      const defaultPort = url?.protocol === 'https:' ? 443 : 80;
      if (!hp || !hostAllowed(rules, hp, req.socket.localPort ?? 0, defaultPort)) return next(crossOrigin());
    } else if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      return next(crossOrigin());
    }
    next();
  };
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time token comparison (hashing first makes both sides the same length). */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(token));
}

/** The token cookie's name for the port a request came in on. */
export function tokenCookieName(req: Request): string {
  return `${TOKEN_COOKIE}_${req.socket.localPort ?? 0}`;
}

/** The token a request presents (Bearer header first, then the cookie), if any. */
function presentedToken(req: Request): string | undefined {
  const auth = req.get('authorization');
  if (auth !== undefined && /^bearer /i.test(auth)) return auth.slice('bearer '.length).trim();
  const c = (req.cookies as Record<string, unknown> | undefined)?.[tokenCookieName(req)];
  return typeof c === 'string' ? c : undefined;
}

/**
 * Counts failed sign-ins per client address and answers 429 once there were
 * too many. Called only after a token was found wrong, so a request with the
 * right token, a 404 or any other mistake is never counted or refused.
 * Keys are prefixed (`addr:`) so a per-account count can sit beside it.
 */
function failureLimiter(): RequestHandler {
  return rateLimit({
    windowMs: FAILURE_WINDOW_MS,
    limit: FAILURE_LIMIT,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) => `addr:${ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? '')}`,
    handler: (_req, _res, next) =>
      next(
        new UserInputError(
          'too_many_attempts',
          'Too many wrong tokens from your address; wrong ones are refused for a while, the right token still works (错误令牌过多，请稍后再试)',
          429,
        ),
      ),
  });
}

/**
 * Token access: the sign-in routes and a gate in front of everything else.
 * @param token - the shared secret
 */
export function tokenGate(token: string): Router {
  const r = Router();
  const limiter = failureLimiter();
  /** Count a wrong token; `then` answers it unless the limit already did (429). */
  const failed = (req: Request, res: Response, next: NextFunction, then: () => void) =>
    limiter(req, res, (err?: unknown) => (err ? next(err) : then()));
  const signIn = (req: Request, res: Response, next: unknown) => {
    res.cookie(tokenCookieName(req), token, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' });
    // Redirect to an address without the token, so it stays out of history and bookmarks.
    res.redirect(303, safeNext(next));
  };
  const loginPage = (res: Response, failedLogin: boolean, next: unknown) =>
    res.status(failedLogin ? 401 : 200).render('login', { failed: failedLogin, next: safeNext(next) });

  // The sign-in address printed at start: /login?token=…
  r.get('/login', (req, res, next) => {
    const given = req.query.token;
    if (given === undefined) return loginPage(res, false, req.query.next);
    if (typeof given === 'string' && tokenMatches(given.trim(), token)) return signIn(req, res, req.query.next);
    failed(req, res, next, () => loginPage(res, true, req.query.next));
  });
  r.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), (req, res, next) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const given = typeof body.token === 'string' ? body.token.trim() : undefined;
    if (tokenMatches(given, token)) return signIn(req, res, body.next);
    failed(req, res, next, () => loginPage(res, true, body.next));
  });

  r.use((req, res, next) => {
    const given = presentedToken(req);
    if (tokenMatches(given, token)) return next();
    const refuse = () => {
      if (isApiPath(req.path)) {
        return next(new UserInputError('unauthorized', 'A valid token is required (需要有效的访问令牌)', 401));
      }
      res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
    };
    // No token at all (a first visit, an <img> on another site: SameSite=Strict keeps the
    // cookie off it) is not a guess and is not counted.
    if (given === undefined) return refuse();
    // A cookie left from an old token is counted once, not on every page the browser opens.
    if (req.get('authorization') === undefined) res.clearCookie(tokenCookieName(req), { path: '/' });
    failed(req, res, next, refuse);
  });
  return r;
}

/** Only same-site paths are followed after login. */
export function safeNext(v: unknown): string {
  return typeof v === 'string' && v.startsWith('/') && !v.startsWith('//') && !v.includes('\\') ? v : '/';
}
