/**
 * A zip written as a stream: each file's content is deflated as it arrives
 * and the archive's bytes are yielded as soon as they exist, so a large
 * export (a Word document, a REFI-QDA project) never sits whole in memory.
 * fflate does the zip format; this only feeds it and hands its output on.
 */
import { strToU8, Zip, ZipDeflate } from 'fflate';

/** One file in a streamed zip: its path and its content in pieces (text is written as UTF-8). */
export interface ZipEntry {
  name: string;
  content: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>;
}

/**
 * The longest stretch of deflating, in ms, between two turns of the event loop. A project's XML
 * deflates to a tenth of its size, so the socket seldom pushes back, and without a pause the whole
 * export ran in one turn: 2,000 long notes held the server for 1.3 s.
 */
const SLICE_MS = 20;

/** The zip of `entries`, in order, as a sequence of byte chunks; other work goes on while it is made. */
export async function* zipStream(
  entries: Iterable<ZipEntry> | AsyncIterable<ZipEntry>,
  options: { level?: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 } = {},
): AsyncGenerator<Uint8Array> {
  const ready: Uint8Array[] = [];
  let failure: Error | null = null;
  // fflate calls back synchronously from push(), so `ready` holds what each push produced.
  const zip = new Zip((err, data) => {
    if (err) failure = err;
    else ready.push(data);
  });
  const drain = function* (): Generator<Uint8Array> {
    if (failure) throw failure;
    while (ready.length > 0) yield ready.shift()!;
  };
  let since = performance.now();
  for await (const entry of entries) {
    const file = new ZipDeflate(entry.name, { level: options.level ?? 6 });
    zip.add(file);
    for await (const piece of entry.content) {
      file.push(typeof piece === 'string' ? strToU8(piece) : piece);
      yield* drain();
      if (performance.now() - since > SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        since = performance.now();
      }
    }
    file.push(new Uint8Array(0), true);
    yield* drain();
  }
  zip.end();
  yield* drain();
}
