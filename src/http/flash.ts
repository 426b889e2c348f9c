/**
 * One-time messages from a form route to the page it redirects to ("Added 2
 * papers", "not a year"). The text stays on the server; the browser only
 * carries a random id in an HttpOnly, SameSite=Strict cookie. A message in
 * the address (`?notice=…`) would let any link make duikou appear to say
 * whatever its author wrote; nobody but duikou can put a message here.
 */
import { randomBytes } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';

/** A message for the next page. */
export interface Flash {
  kind: 'notice' | 'error';
  text: string;
}

const COOKIE = 'duikou_flash';
/** A message not picked up within this time is dropped. */
const TTL_MS = 5 * 60 * 1000;
/** Messages kept at most; the oldest go first (a redirect nobody followed must not grow memory). */
const MAX_KEPT = 200;
/** Longest message shown. */
const MAX_TEXT = 2000;

const cookieName = (req: Request): string => `${COOKIE}_${req.socket.localPort ?? 0}`;

/** Messages waiting for their page, for one app. */
export class FlashMessages {
  private readonly waiting = new Map<string, { flash: Flash; at: number }>();

  /** Keep `flash` for the next page this browser opens. */
  set(req: Request, res: Response, flash: Flash): void {
    const now = Date.now();
    for (const [id, m] of this.waiting) if (this.waiting.size >= MAX_KEPT || now - m.at > TTL_MS) this.waiting.delete(id);
    const id = randomBytes(16).toString('base64url');
    this.waiting.set(id, { flash: { kind: flash.kind, text: flash.text.slice(0, MAX_TEXT) }, at: now });
    res.cookie(cookieName(req), id, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/', maxAge: TTL_MS });
  }

  /**
   * Middleware: offer this browser's waiting message to the views as
   * `res.locals.flash`. It is taken (once) only when a page is rendered, so an
   * API call or a redirect in between does not use it up.
   */
  take(): RequestHandler {
    return (req, res, next) => {
      const id = (req.cookies as Record<string, unknown> | undefined)?.[cookieName(req)];
      if (typeof id !== 'string') return next();
      let taken: Flash | null | undefined;
      Object.defineProperty(res.locals, 'flash', {
        enumerable: true,
        configurable: true,
        get: () => {
          if (taken === undefined) {
            const m = this.waiting.get(id);
            this.waiting.delete(id);
            if (!res.headersSent) res.clearCookie(cookieName(req), { path: '/' });
            taken = m && Date.now() - m.at <= TTL_MS ? m.flash : null;
          }
          return taken;
        },
      });
      next();
    };
  }
}
