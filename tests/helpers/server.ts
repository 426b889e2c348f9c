/** Run the real app on an ephemeral loopback port for a test. */
import type { AddressInfo } from 'node:net';
import { type AppDeps, createApp } from '../../src/http/app.js';

export interface TestServer {
  url: string;
  close(): Promise<void>;
}

/** Start `createApp(deps)` on 127.0.0.1 with a port the OS picks. */
export async function startServer(deps: AppDeps): Promise<TestServer> {
  const app = createApp(deps);
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // A test that stopped reading a response must not keep the server open.
        server.closeAllConnections();
      }),
  };
}
