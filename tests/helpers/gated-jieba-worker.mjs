// jieba's thread for tests/jieba-thread.test.ts: it loads jieba only once the test says so on the
// gate channel, so the test can show what a restarted server answers while jieba is still loading.
import { BroadcastChannel } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

const gate = new BroadcastChannel('duikou-test:jieba-gate');
await new Promise((resolve) => {
  gate.onmessage = resolve;
});
gate.close();
register();
await import('../../src/workers/jieba-worker.ts');
