/**
 * Synthetic bilingual corpus for the benchmark, built from the real papers'
 * sentences (corpus/*.txt) so the text reads like the real corpus to the
 * segmenter and analyzer, mixed like it (English papers, Chinese papers,
 * English papers with Chinese names), and salted with made-up words whose
 * vocabulary grows with the corpus size (Heaps' law) and whose frequencies
 * follow Zipf's law, so larger corpora have more distinct terms, not just
 * more copies of the same ones.
 *
 * Deterministic: the same size gives byte-identical files (seeded PRNG), and
 * pseudo-word number i is the same word at every size.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Bump when the generator's output changes, so cached corpora are rebuilt. Its
 * inputs (the real papers and the glossary, whose Chinese terms salt the text)
 * are checked by {@link inputsHash}.
 */
const GENERATOR_VERSION = 4;

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const CACHE = join(ROOT, 'bench', '.cache');

/** A small fast seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the generator wrote, for the query mix. */
export interface CorpusManifest {
  version: number;
  /** {@link inputsHash} of what it was generated from. */
  inputs: string;
  mb: number;
  bytes: number;
  files: string[];
  /** Pseudo-vocabulary size (Latin and Han each). */
  vocabulary: number;
  /** A rare made-up Latin word (rank vocabulary/10) and a rare made-up Chinese word. */
  rareLatin: string;
  rareHan: string;
  /** The commonest made-up Latin word. */
  frequentLatin: string;
}

const HAN = /\p{Script=Han}/u;
const HAN_G = /\p{Script=Han}/gu;

/** The real corpus's sentences, per language, and the Chinese terms of its glossary. */
function sourceSentences(): { en: string[]; zh: string[]; zhTerms: string[]; hanChars: string[] } {
  const dir = join(ROOT, 'corpus');
  const en: string[] = [];
  const zh: string[] = [];
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith('.txt'))
    .sort()) {
    const text = readFileSync(join(dir, f), 'utf8').replace(/\r\n/g, '\n');
    for (const para of text.split(/\n\s*\n/)) {
      const p = para.replace(/\s*\n\s*/g, ' ').trim();
      if (p.startsWith('#') || p.length < 20) continue;
      const han = (p.match(HAN_G) ?? []).length;
      if (han > p.length * 0.3) {
        for (const s of p.split(/(?<=[。！？；])/u)) if (s.trim().length >= 8) zh.push(s.trim());
      } else {
        for (const s of p.split(/(?<=[.!?])\s+(?=[A-Z"“(])/u)) if (s.trim().length >= 25 && !HAN.test(s)) en.push(s.trim());
      }
    }
  }
  const zhTerms: string[] = [];
  for (const line of readFileSync(join(dir, 'duikou.glossary.tsv'), 'utf8').split('\n')) {
    if (line.startsWith('#') || !line.includes('\t')) continue;
    const t = line.split('\t')[0]!.trim();
    if (t && HAN.test(t)) zhTerms.push(t);
  }
  const counts = new Map<string, number>();
  for (const s of zh) for (const c of s.match(HAN_G) ?? []) counts.set(c, (counts.get(c) ?? 0) + 1);
  const hanChars = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 600)
    .map(([c]) => c);
  return { en, zh, zhTerms, hanChars };
}

const CONSONANTS = 'bdfgklmnprstvz';
const VOWELS = 'aeiou';

/** Made-up Latin word number i: 2–4 syllables, the same at every corpus size. */
export function latinWord(i: number): string {
  const r = prng(0x1a7e0000 + i);
  const n = 2 + Math.floor(r() * 3);
  let w = '';
  for (let k = 0; k < n; k++) w += CONSONANTS[Math.floor(r() * CONSONANTS.length)]! + VOWELS[Math.floor(r() * VOWELS.length)]!;
  return `${w}${'nrsx'[Math.floor(r() * 4)]}`;
}

/** Made-up Chinese word number i: 2–3 characters of the real Chinese text. */
export function hanWord(i: number, chars: string[]): string {
  const r = prng(0x4a700000 + i);
  const n = 2 + Math.floor(r() * 2);
  let w = '';
  for (let k = 0; k < n; k++) w += chars[Math.floor(r() * chars.length)]!;
  return w;
}

/** Vocabulary size of the made-up words at a corpus size (Heaps' law, β ≈ 0.55). */
export function vocabularySize(mb: number): number {
  return Math.round(4000 * mb ** 0.55);
}

/** Sampler of Zipf ranks 0..n-1 (s = 1). */
function zipf(n: number, rand: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / (i + 1);
    cdf[i] = sum;
  }
  return () => {
    const x = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

type Kind = 'en' | 'zh' | 'en-zh';

/**
 * SHA-256 of the generator's inputs, the real papers and the glossary: a
 * corpus cached from other inputs is generated again (a glossary grown since
 * once left a machine measuring a corpus another machine no longer generated).
 */
export function inputsHash(): string {
  const dir = join(ROOT, 'corpus');
  const hash = createHash('sha256');
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.txt') && f !== 'duikou.glossary.tsv') continue;
    hash.update(`${f}\n`).update(readFileSync(join(dir, f)));
  }
  return hash.digest('hex');
}

/**
 * The corpus of `mb` megabytes of UTF-8 text in `bench/.cache/<mb>MB/`,
 * generated unless a complete copy of this generator version is there.
 */
export function ensureCorpus(mb: number): { dir: string; manifest: CorpusManifest } {
  const dir = join(CACHE, `${mb}MB`);
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as CorpusManifest;
    if (m.version === GENERATOR_VERSION && m.inputs === inputsHash()) return { dir, manifest: m };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  const src = sourceSentences();
  const rand = prng(20240601 + mb);
  const V = vocabularySize(mb);
  const latin = Array.from({ length: V }, (_, i) => latinWord(i));
  const han = Array.from({ length: V }, (_, i) => hanWord(i, src.hanChars));
  const rankOf = zipf(V, rand);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;

  const enSentence = (withZh: boolean): string => {
    const words = pick(src.en).split(' ');
    const k = Math.floor(rand() * 3);
    for (let j = 0; j < k; j++) words.splice(1 + Math.floor(rand() * words.length), 0, latin[rankOf()]!);
    if (withZh && rand() < 0.5) {
      const at = 1 + Math.floor(rand() * words.length);
      words.splice(at, 0, `(${pick(src.zhTerms)})`);
    }
    return words.join(' ');
  };
  const zhSentence = (): string => {
    let s = pick(src.zh);
    const k = Math.floor(rand() * 3);
    for (let j = 0; j < k; j++) {
      const at = Math.floor(rand() * (s.length - 1));
      s = s.slice(0, at) + han[rankOf()]! + s.slice(at);
    }
    return s;
  };

  const target = mb * 1024 * 1024;
  let bytes = 0;
  const files: string[] = [];
  for (let n = 1; bytes < target; n++) {
    const r = rand();
    const kind: Kind = r < 0.55 ? 'en' : r < 0.85 ? 'zh' : 'en-zh';
    const size = Math.min(50_000 + Math.floor(rand() * 150_000), Math.max(2_000, target - bytes));
    const parts: string[] = [];
    let docBytes = 0;
    const add = (s: string): void => {
      parts.push(s);
      docBytes += Buffer.byteLength(s) + 2;
    };
    const sentence = (): string => (kind === 'zh' ? zhSentence() : enSentence(kind === 'en-zh'));
    add(`# ${sentence().slice(0, 90)}`);
    let section = 0;
    while (docBytes < size) {
      if (rand() < 0.15) add(`## ${++section}. ${sentence().slice(0, 60)}`);
      const m = 2 + Math.floor(rand() * 6);
      const ss: string[] = [];
      for (let j = 0; j < m; j++) ss.push(sentence());
      add(ss.join(kind === 'zh' ? '' : ' '));
    }
    const name = `paper-${String(n).padStart(5, '0')}-${kind}.txt`;
    const text = `${parts.join('\n\n')}\n`;
    writeFileSync(join(dir, name), text);
    files.push(name);
    bytes += Buffer.byteLength(text);
  }
  const manifest: CorpusManifest = {
    version: GENERATOR_VERSION,
    inputs: inputsHash(),
    mb,
    bytes,
    files,
    vocabulary: V,
    rareLatin: latin[Math.floor(V / 10)]!,
    rareHan: han[Math.floor(V / 10)]!,
    frequentLatin: latin[0]!,
  };
  // The real glossary, so cross-lingual expansion has the same pairs as on the real corpus.
  copyFileSync(join(ROOT, 'corpus', 'duikou.glossary.tsv'), join(dir, 'duikou.glossary.tsv'));
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  return { dir, manifest };
}
