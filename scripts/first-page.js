#!/usr/bin/env node
/**
 * How long from a command to the app's first page: runs the command (by
 * default `npm start`) with PORT set, asks for `/` every 20 ms until it
 * answers 200, prints the time, then waits until /api/status says indexing
 * is over and prints that time too, and stops the command.
 *
 *   node scripts/first-page.js [command …]     PORT defaults to 3917
 *
 * With sign-in on (the default), it sends the token the server keeps in
 * DUIKOU_DATA/access-token, as a signed-in browser would.
 *
 * The README's set-up timings are measured with it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const port = process.env.PORT ?? '3917';
const cmd = process.argv.slice(2);
const [bin, ...args] = cmd.length > 0 ? cmd : ['npm', 'start', '--silent'];
const started = performance.now();
const child = spawn(bin, args, { env: { ...process.env, PORT: port }, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
const tokenFile = join(process.env.DUIKOU_DATA || 'data', 'access-token');
/** The sign-in token once the server has written it (none when sign-in is off). */
function headers() {
  try {
    return { authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` };
  } catch {
    return {};
  }
}
let exited = false;
child.on('exit', () => {
  exited = true;
});

for (;;) {
  if (exited) {
    console.error('first-page: the command exited before the page answered');
    process.exit(1);
  }
  try {
    const r = await fetch(`http://127.0.0.1:${port}/`, { headers: headers() });
    await r.arrayBuffer();
    if (r.status === 200) break;
  } catch {
    // not listening yet
  }
  await new Promise((r) => setTimeout(r, 20));
}
const ms = performance.now() - started;
console.log(`first-page: ${(ms / 1000).toFixed(2)} s from \`${[bin, ...args].join(' ')}\` to the first page`);
for (;;) {
  // A connection dropped while the server is busy indexing is asked again.
  const s = await fetch(`http://127.0.0.1:${port}/api/status`, { headers: headers() })
    .then((r) => r.json())
    .catch(() => null);
  if (s && !s.indexing && s.last) break;
  await new Promise((r) => setTimeout(r, 20));
}
console.log(`first-page: ${((performance.now() - started) / 1000).toFixed(2)} s to the end of indexing`);
// The command's whole process group: npm, the shell it runs, the server.
process.kill(-child.pid, 'SIGTERM');
