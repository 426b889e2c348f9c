/**
 * The one error handler: user mistakes as JSON under /api, and a download that
 * fails after it has started is cut off, never ended as if it were complete.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserInputError } from '../src/core/errors.js';
import { errorHandler } from '../src/http/errors.js';

let server: import('node:http').Server;
let url: string;

beforeAll(async () => {
  const app = express();
  app.get('/api/bad', () => {
    throw new UserInputError('bad_parameter', '"format" must be md (格式错误)');
  });
  app.get('/api/half', async (_req, res) => {
    res.set('Content-Type', 'text/markdown');
    res.write('# Quotes / 摘录\n\n> the first quote\n');
    await new Promise((r) => setTimeout(r, 20));
    throw new UserInputError('export_failed', 'the export stopped half-way');
  });
  // Storage failures as Node and SQLite report them.
  const failing: Record<string, [string, string]> = {
    enospc: ['ENOSPC', 'ENOSPC: no space left on device, write'],
    sqlitefull: ['SQLITE_FULL', 'database or disk is full'],
    erofs: ['EROFS', 'EROFS: read-only file system, open'],
    sqlitero: ['SQLITE_READONLY', 'attempt to write a readonly database'],
  };
  app.get('/api/store/:kind', (req) => {
    const [code, message] = failing[req.params.kind]!;
    throw Object.assign(new Error(message), { code });
  });
  // A page whose error page cannot be drawn (this app has no views): the failure of a bug.
  app.get('/page', () => {
    throw new UserInputError('bad_parameter', 'No such view here (无此页面)');
  });
  app.use(errorHandler);
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('errorHandler', () => {
  it('answers in plain words when the error page itself fails, never with the stack or the install path', async () => {
    const res = await fetch(`${url}/page`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toBe('400 No such view here (无此页面)');
  });

  it('answers a user mistake under /api with its code and message', async () => {
    const res = await fetch(`${url}/api/bad`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'bad_parameter', message: '"format" must be md (格式错误)' } });
  });

  it.each([
    ['enospc', 507, 'disk_full'],
    ['sqlitefull', 507, 'disk_full'],
    ['erofs', 503, 'storage_read_only'],
    ['sqlitero', 503, 'storage_read_only'],
  ])('answers the storage failure %s with %i %s and a clear message, not a 500', async (kind, status, code) => {
    const res = await fetch(`${url}/api/store/${kind}`);
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message).toMatch(/nothing was saved/);
  });

  it('cuts off a download that fails after its first bytes, so it cannot pass for a whole file', async () => {
    const res = await fetch(`${url}/api/half`);
    expect(res.status).toBe(200); // the headers had gone out already
    await expect(res.text()).rejects.toThrow();
  });
});
