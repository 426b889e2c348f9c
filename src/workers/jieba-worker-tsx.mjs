// jieba's thread when duikou runs from its TypeScript sources (tests, `npm run dev`): synckit's own
// tsx runner does not reach a worker's entry point on Node 20, so tsx's loader is registered here first.
import { register } from 'tsx/esm/api';

register();
await import('./jieba-worker.ts');
