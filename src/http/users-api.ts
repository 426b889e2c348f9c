/**
 * `/api/users`: the owner manages accounts from the app as `duikou user` does
 * on the command line (the role checks in roles.ts keep everyone else out).
 */
import { Router } from 'express';
import { z } from 'zod';
import { UserInputError } from '../core/errors.js';
import type { AccountBackend } from '../backends/types.js';
import { ROLES } from '../store/users.js';
import { parseBody } from './annotations-api.js';
import { viewerOf } from './accounts.js';

const role = z.enum(ROLES as [string, ...string[]]);
const newUser = z.strictObject({ name: z.string().max(200), role, password: z.string().max(1024) });
const userPatch = z.strictObject({ role: role.optional(), password: z.string().max(1024).optional() });

/** The `/api/users` routes. */
export function usersRouter(users: AccountBackend): Router {
  const r = Router();
  r.get('/users', async (_req, res) => {
    res.json({ users: await users.list() });
  });
  r.post('/users', async (req, res) => {
    const b = parseBody(newUser, req.body);
    res.status(201).json(await users.add(b.name, b.role, b.password));
  });
  r.patch('/users/:name', async (req, res) => {
    const b = parseBody(userPatch, req.body);
    if (!(await users.find(req.params.name))) throw new UserInputError('not_found', `No user "${req.params.name}" (未找到该用户)`, 404);
    if (b.password !== undefined) await users.setPassword(req.params.name, b.password);
    res.json(b.role !== undefined ? await users.setRole(req.params.name, b.role) : await users.find(req.params.name));
  });
  r.delete('/users/:name', async (req, res) => {
    if ((await users.find(req.params.name))?.name === viewerOf(res).name) {
      throw new UserInputError('own_account', 'You cannot remove your own account while signed in with it (不能删除自己的账户)', 409);
    }
    res.json({ deleted: (await users.remove(req.params.name)).name });
  });
  return r;
}
