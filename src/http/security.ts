/**
 * Who may talk to duikou, and what a page may do. Researchers keep months of
 * coding work in it; some run it on a shared lab server.
 *
 * - helmet's headers with a strict Content-Security-Policy: scripts and styles
 *   only from duikou's own files, nothing inline, no framing.
 * - State-changing requests from another site are refused (Origin and
 *   Sec-Fetch-Site checked), so a page elsewhere cannot write annotations.
 * - With a token (required on any non-loopback address), every request needs
 *   it: a login page sets an HttpOnly, SameSite cookie, or the API is called
 *   with `Authorization: Bearer`. Tokens are compared in constant time and
 *   wrong ones are rate-limited.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import cookieParser from 'cookie-parser';
import express, { type Request, type RequestHandler, Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { UserInputError } from '../core/errors.js';

/** Cookie that carries the token after login. */
export const TOKEN_COOKIE = 'duikou_token';

/** Whether an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
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
  });
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuse state-changing requests a browser sends from another site. Requests
 * without Origin and Sec-Fetch-Site (curl, the CLI, scripts) are not from a
 * browser page and pass.
 */
export const sameOriginWrites: RequestHandler = (req, _res, next) => {
  if (SAFE_METHODS.has(req.method)) return next();
  const origin = req.get('origin');
  const site = req.get('sec-fetch-site');
  if (origin !== undefined) {
    const host = req.get('host');
    let ok: boolean;
    try {
      ok = host !== undefined && new URL(origin).host === host;
    } catch {
      ok = false;
    }
    if (!ok) return next(new UserInputError('cross_origin', 'Requests from another site are not allowed (拒绝跨站请求)', 403));
  } else if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return next(new UserInputError('cross_origin', 'Requests from another site are not allowed (拒绝跨站请求)', 403));
  }
  next();
};

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time token comparison (hashing first makes both sides the same length). */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(token));
}

function presentedToken(req: Request): string | undefined {
  const auth = req.get('authorization');
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  const c = (req.cookies as Record<string, string> | undefined)?.[TOKEN_COOKIE];
  return typeof c === 'string' ? c : undefined;
}

/**
 * Token access: a login page and a gate in front of everything else.
 * Only wrong tokens count towards the rate limit.
 * @param token - the shared secret from DUIKOU_TOKEN
 */
export function tokenGate(token: string): Router {
  const r = Router();
  const limiter = rateLimit({
    windowMs: 15 * 60 * 1000,
    limit: 20,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    skipSuccessfulRequests: true,
    handler: (_req, _res, next) =>
      next(new UserInputError('too_many_attempts', 'Too many wrong tokens; try again later (尝试次数过多，请稍后再试)', 429)),
  });
  r.use(cookieParser());

  r.get('/login', (req, res) => {
    res.render('login', { title: 'Log in 登录', failed: false, next: safeNext(req.query.next) });
  });
  r.post('/login', limiter, express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => {
    const given = typeof req.body?.token === 'string' ? req.body.token : undefined;
    if (!tokenMatches(given, token)) {
      res.status(401).render('login', { title: 'Log in 登录', failed: true, next: safeNext(req.body?.next) });
      return;
    }
    res.cookie(TOKEN_COOKIE, given, { httpOnly: true, sameSite: 'strict', path: '/' });
    res.redirect(303, safeNext(req.body?.next));
  });

  r.use(limiter, (req, res, next) => {
    if (tokenMatches(presentedToken(req), token)) return next();
    if (req.path.startsWith('/api/') || req.path === '/api') {
      return next(new UserInputError('unauthorized', 'A valid token is required (需要有效的访问令牌)', 401));
    }
    res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
  });
  return r;
}

/** Only same-site paths are followed after login. */
function safeNext(v: unknown): string {
  return typeof v === 'string' && v.startsWith('/') && !v.startsWith('//') && !v.includes('\\') ? v : '/';
}
