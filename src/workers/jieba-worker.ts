/**
 * jieba's own thread (see jieba-thread.ts): loads the dictionaries at once,
 * says so on {@link JIEBA_LOADED}, then cuts the texts the server's thread
 * sends it, one at a time, synchronously for that thread (synckit).
 */
import { BroadcastChannel } from 'node:worker_threads';
import { runAsWorker } from 'synckit';
import { type JiebaCut, localJieba } from '../pipeline/jieba.js';
import { JIEBA_LOADED } from './jieba-protocol.js';

const cuts = localJieba();
const loaded = new BroadcastChannel(JIEBA_LOADED);
loaded.postMessage(true);
loaded.unref();

runAsWorker((mode: JiebaCut, text: string): string[] => (mode === 'cut' ? cuts.cut(text) : cuts.cutForSearch(text)));
