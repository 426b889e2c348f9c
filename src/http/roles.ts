/**
 * What each role may do, as one table over every route, checked in front of
 * all routers so no route can be added without a rule: reading (GET/HEAD) is
 * for every signed-in role unless a rule says otherwise; any change is for the
 * owner unless a rule lets coders make it. Owner: users, codebook (tag
 * create/rename/merge/delete), coding rounds, papers. Coder: annotations
 * (creating a tag by tagging with it is part of annotating). Reader: searches
 * and reads.
 */
import type { RequestHandler } from 'express';
import { UserInputError } from '../core/errors.js';
import type { Role, Viewer } from '../store/users.js';

/** One rule: requests of `methods` whose path matches `path` need at least `role`. */
export interface RouteRule {
  methods: readonly string[];
  path: RegExp;
  role: Role;
  /** Why, for the README and the tests. */
  why: string;
}

const READS = ['GET', 'HEAD'];
const WRITES = ['POST', 'PUT', 'PATCH', 'DELETE'];

/** The rules, first match wins; then reads need `reader` and writes `owner`. */
export const ROUTE_RULES: readonly RouteRule[] = [
  { methods: READS, path: /^\/(api\/)?users(\/|$)/, role: 'owner', why: 'accounts are managed by the owner' },
  { methods: ['POST'], path: /^\/api\/annotations\/merge$/, role: 'owner', why: 'the group version after discussion' },
  { methods: ['POST'], path: /^\/api\/annotations\/[^/]+\/accept$/, role: 'owner', why: 'the group version after discussion' },
  { methods: WRITES, path: /^\/api\/annotations(\/[^/]+)?$/, role: 'coder', why: 'coders annotate (and create tags by tagging)' },
  { methods: ['POST'], path: /^\/annotations\/[^/]+(\/delete)?$/, role: 'coder', why: 'the same, from the forms on the quote cards' },
];

const RANK: Record<Role, number> = { reader: 0, coder: 1, owner: 2 };

/** Whether `role` has at least the rights of `needed`. */
export function atLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/** The role a request needs. */
export function requiredRole(method: string, path: string): Role {
  const m = method.toUpperCase();
  // Express matches routes whatever the letter case (/API/Users reaches /api/users), so the
  // rules must too: matched case-sensitively, /API/users was open to every role.
  const p = path.toLowerCase();
  const rule = ROUTE_RULES.find((r) => r.methods.includes(m) && r.path.test(p));
  if (rule) return rule.role;
  return READS.includes(m) || m === 'OPTIONS' ? 'reader' : 'owner';
}

/** Refuse (403) a request the viewer's role does not allow. */
export function roleGate(): RequestHandler {
  return (req, res, next) => {
    const viewer = res.locals.viewer as Viewer | undefined;
    if (!viewer) return next(new Error('roleGate before the account gate'));
    const needed = requiredRole(req.method, req.path);
    if (atLeast(viewer.role, needed)) return next();
    next(
      new UserInputError(
        'forbidden',
        `This needs the ${needed} role; you are signed in as ${viewer.name} (${viewer.role}) (您的角色无权执行此操作)`,
        403,
      ),
    );
  };
}
