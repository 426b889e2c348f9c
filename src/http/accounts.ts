/**
 * Who is asking: researcher accounts (name + password, a session cookie),
 * or, while no account exists, the one implicit owner signed in as before
 * (the access token, or no sign-in with DUIKOU_AUTH=none). The access token
 * sent as `Authorization: Bearer` always counts as the owner, for scripts.
 *
 * Every request that passes gets `res.locals.viewer` ({@link Viewer}); the
 * role checks (roles.ts) and the blind rounds read it.
 *
 * Sign-in attempts are limited per account (`acct:`) and per address
 * (`addr:`), counting only failures (a successful sign-in is not counted); a
 * wrong `Bearer` token counts as a failed sign-in from its address.
 * Past the limit every attempt, right or wrong, waits until the window ends:
 * a few minutes, so a guesser gets few tries and the researcher is not kept
 * out for long.
 */
import express, { type Request, type RequestHandler, type Response, Router } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { UserInputError } from '../core/errors.js';
import { isApiPath } from './errors.js';
import type { AccountBackend } from '../backends/types.js';
import { IMPLICIT_OWNER, isImplicitOwnersName, type User, type Viewer } from '../store/users.js';
import { type Auth, safeNext, tokenGate, tokenMatches } from './security.js';

/** Failed sign-ins to one account within {@link SIGNIN_WINDOW_MS} before the account's sign-in waits. */
export const ACCOUNT_FAILURE_LIMIT = 10;
/** Failed sign-ins from one address (any account) within the window before that address waits. */
export const ADDRESS_FAILURE_LIMIT = 30;
/** The window of both counts, and so the longest wait. */
export const SIGNIN_WINDOW_MS = 5 * 60 * 1000;

const SESSION_COOKIE = 'duikou_session';

/** The session cookie's name for the port a request came in on (browsers share cookies across ports). */
export function sessionCookieName(req: Request): string {
  return `${SESSION_COOKIE}_${req.socket.localPort ?? 0}`;
}

/** The viewer of a request that passed the gate. */
export function viewerOf(res: Response): Viewer {
  const v = res.locals.viewer as Viewer | undefined;
  if (!v) throw new Error('viewerOf: the request did not pass the account gate');
  return v;
}

const OWNER: Viewer = { name: IMPLICIT_OWNER, role: 'owner' };

/**
 * An account named as the implicit owner (made before such names were refused) and not an owner:
 * it would pass for the author of the token's annotations. It cannot sign in until renamed.
 */
function reservedName(user: User): UserInputError | null {
  if (user.role === 'owner' || !isImplicitOwnersName(user.name)) return null;
  return new UserInputError(
    'reserved_name',
    `The account "${user.name}" has the name reserved for the annotations made with the access token; the owner must add it again under another name (此用户名已保留，请改名)`,
    403,
  );
}

const tooMany = (what: string) => () =>
  new UserInputError(
    'too_many_attempts',
    `Too many failed sign-ins ${what}; wait a few minutes and try again (登录失败次数过多，请几分钟后再试)`,
    429,
  );

function limiter(limit: number, key: (req: Request) => string, message: () => UserInputError): RequestHandler {
  return rateLimit({
    windowMs: SIGNIN_WINDOW_MS,
    limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    // Only failures count: a sign-in that succeeds (a redirect) is taken off again.
    skipSuccessfulRequests: true,
    keyGenerator: key,
    handler: (_req, _res, next) => next(message()),
  });
}

const bodyOf = (req: Request) => (req.body ?? {}) as Record<string, unknown>;
const nameKey = (v: unknown) => (typeof v === 'string' ? v.trim().normalize('NFKC').toLowerCase() : '');

/**
 * The sign-in routes (`/login`, `/logout`) and the gate in front of everything else.
 * @param auth - the token settings, used while no account exists and for Bearer scripts
 */
export function accountGate(auth: Auth, users: AccountBackend): Router {
  const r = Router();
  const token = auth === 'none' ? null : tokenGate(auth.token);
  const perAccount = limiter(ACCOUNT_FAILURE_LIMIT, (req) => `acct:${nameKey(bodyOf(req).name)}`, tooMany('for this account'));
  const perAddress = limiter(
    ADDRESS_FAILURE_LIMIT,
    (req) => `addr:${ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? '')}`,
    tooMany('from your address'),
  );

  const loginPage = (res: Response, status: number, next: unknown, failed = false) =>
    res.status(status).render('login', { accounts: true, failed, next: safeNext(next) });

  r.get('/login', async (req, res, next) => {
    if (!(await users.hasUsers())) return token ? token(req, res, next) : res.redirect(303, safeNext(req.query.next));
    loginPage(res, 200, req.query.next);
  });

  r.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res, next) => {
    if (!(await users.hasUsers())) return token ? token(req, res, next) : res.redirect(303, '/');
    next();
  });
  r.post('/login', perAddress, perAccount, async (req, res) => {
    const body = bodyOf(req);
    const name = typeof body.name === 'string' ? body.name : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const user: User | null = name && password ? await users.authenticate(name, password) : null;
    if (!user) return loginPage(res, 401, body.next, true);
    const reserved = reservedName(user);
    if (reserved) throw reserved;
    const s = await users.startSession(user.id);
    res.cookie(sessionCookieName(req), s.id, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/', expires: s.expires });
    res.redirect(303, safeNext(body.next));
  });

  r.post('/logout', async (req, res) => {
    const id = (req.cookies as Record<string, unknown> | undefined)?.[sessionCookieName(req)];
    if (typeof id === 'string') await users.endSession(id);
    res.clearCookie(sessionCookieName(req), { path: '/' });
    res.redirect(303, '/login');
  });

  r.use(async (req, res, next) => {
    const bearer = req.get('authorization');
    const scripted = auth !== 'none' && bearer !== undefined && /^bearer /i.test(bearer);
    if (scripted && tokenMatches(bearer.slice(7).trim(), auth.token)) {
      res.locals.viewer = OWNER;
      return next();
    }
    if (!(await users.hasUsers())) {
      // As before accounts: the token (or nothing) signs in the one owner.
      const asOwner = (err?: unknown) => {
        if (err) return next(err);
        res.locals.viewer = OWNER;
        next();
      };
      return token ? token(req, res, asOwner) : asOwner();
    }
    if (scripted) {
      // A wrong token is a guess at the owner's key: counted with the address's failed sign-ins, so
      // a script cannot try thousands (it used to fall through to the session check, uncounted).
      const wrong = new UserInputError('unauthorized', 'A valid token is required (需要有效的访问令牌)', 401);
      return perAddress(req, res, (err?: unknown) => next(err ?? wrong));
    }
    const id = (req.cookies as Record<string, unknown> | undefined)?.[sessionCookieName(req)];
    const user = typeof id === 'string' ? await users.sessionUser(id) : null;
    if (user) {
      const reserved = reservedName(user);
      if (reserved) return next(reserved);
      res.locals.viewer = { name: user.name, role: user.role } satisfies Viewer;
      res.locals.signedIn = true;
      return next();
    }
    if (isApiPath(req.path)) {
      return next(new UserInputError('unauthorized', 'Sign in first (请先登录)', 401));
    }
    res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
  });
  return r;
}
