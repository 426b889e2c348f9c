/**
 * Intercoder agreement for a coding round: per tag and overall, percent
 * agreement, Cohen's kappa (exactly two coders) and Krippendorff's alpha
 * (nominal, two or more coders), on two kinds of unit:
 *
 * - `characters`: every character (code point) of the round's papers is a
 *   unit, coded or not coded with the tag by each coder;
 * - `passages`: every passage (paragraph, heading, …) is a unit, coded when
 *   one of the coder's annotations with the tag overlaps it.
 *
 * "Overall" pools the (unit, tag) decisions of every tag. No npm package for
 * these is maintained (the one `krippendorff` package is a 0.1 release), so
 * they are written here from the published formulas and checked against the
 * worked examples of the literature (tests/agreement.test.ts).
 */

/** One coder's value for one unit; null when the coder gave none (missing). */
export type Value = string | number | null;

/** Units with the same values from every coder, counted once with their number. */
export interface Pattern {
  /** One value per coder, in the same coder order for every pattern. */
  values: readonly Value[];
  count: number;
}

/**
 * Krippendorff's alpha for nominal data, from the coincidence matrix as in
 * Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability",
 * University of Pennsylvania, section C: each unit with m ≥ 2 values adds
 * 1/(m−1) to o_ck for every ordered pair of its values from different coders;
 * n_c = Σ_k o_ck, n = Σ_c n_c, and
 * α = 1 − (n − 1) · Σ_{c≠k} o_ck / Σ_{c≠k} n_c·n_k.
 * Units with fewer than two values are not pairable and are left out.
 * @returns alpha, or null when it is undefined (fewer than two pairable values, or every value the same)
 */
export function krippendorffAlphaNominal(patterns: readonly Pattern[]): number | null {
  const o = new Map<string, Map<string, number>>();
  const add = (c: string, k: string, w: number) => {
    let row = o.get(c);
    if (!row) o.set(c, (row = new Map()));
    row.set(k, (row.get(k) ?? 0) + w);
  };
  for (const p of patterns) {
    const vals = p.values.filter((v): v is string | number => v !== null).map((v) => String(v));
    const m = vals.length;
    if (m < 2 || p.count === 0) continue;
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) if (i !== j) add(vals[i]!, vals[j]!, p.count / (m - 1));
  }
  const nc = new Map<string, number>();
  let n = 0;
  let disagree = 0;
  for (const [c, row] of o) {
    for (const [k, w] of row) {
      nc.set(c, (nc.get(c) ?? 0) + w);
      n += w;
      if (c !== k) disagree += w;
    }
  }
  let expected = 0;
  for (const [c, a] of nc) for (const [k, b] of nc) if (c !== k) expected += a * b;
  if (n <= 1 || expected === 0) return null;
  return 1 - ((n - 1) * disagree) / expected;
}

/**
 * Cohen's kappa for two coders: κ = (p_o − p_e) / (1 − p_e), p_o the share of
 * units on which they agree, p_e the agreement expected from each coder's own
 * marginal shares (Cohen 1960). Units where either value is missing are left out.
 * @returns kappa, or null when undefined (no units, or p_e = 1: both coders gave one and the same value throughout)
 */
export function cohenKappa(patterns: readonly Pattern[]): number | null {
  const rows = new Map<string, number>();
  const cols = new Map<string, number>();
  let n = 0;
  let agree = 0;
  for (const p of patterns) {
    const [a, b] = p.values;
    if (a === null || b === null || a === undefined || b === undefined || p.count === 0) continue;
    const ka = String(a);
    const kb = String(b);
    rows.set(ka, (rows.get(ka) ?? 0) + p.count);
    cols.set(kb, (cols.get(kb) ?? 0) + p.count);
    n += p.count;
    if (ka === kb) agree += p.count;
  }
  if (n === 0) return null;
  let pe = 0;
  for (const [k, r] of rows) pe += (r / n) * ((cols.get(k) ?? 0) / n);
  if (pe >= 1) return null;
  return (agree / n - pe) / (1 - pe);
}

/** Percent agreement: the share of coder pairs, over all units, that gave the same value (for two coders, of units they agree on). */
export function percentAgreement(patterns: readonly Pattern[]): number | null {
  let pairs = 0;
  let same = 0;
  for (const p of patterns) {
    const vals = p.values.filter((v): v is string | number => v !== null);
    for (let i = 0; i < vals.length; i++) {
      for (let j = i + 1; j < vals.length; j++) {
        pairs += p.count;
        if (String(vals[i]) === String(vals[j])) same += p.count;
      }
    }
  }
  return pairs === 0 ? null : same / pairs;
}

/** Which units agreement is computed on. */
export type Unit = 'characters' | 'passages';

/** A coded stretch: who, with which tags, where (UTF-16 offsets). */
export interface CodedSpan {
  /** The annotation's id, when the span is one. */
  id?: string;
  docId: string;
  start: number;
  end: number;
  coder: string;
  tags: readonly string[];
}

/** A paper of the round: its text and passages (for passage units). */
export interface RoundPaper {
  id: string;
  text: string;
  passages: readonly { start: number; end: number }[];
}

/** The figures for one tag (or overall). */
export interface AgreementRow {
  /** The tag, or null for the overall row. */
  tag: string | null;
  /** Units coded with the tag by each coder. */
  coded: Record<string, number>;
  /** Units in the computation. */
  units: number;
  percent: number | null;
  /** Only with exactly two coders. */
  kappa: number | null;
  alpha: number | null;
}

/** The agreement table of a round. */
export interface AgreementTable {
  unit: Unit;
  coders: string[];
  rows: AgreementRow[];
}

/**
 * The coverage of one tag in one paper, as stretches of text where the set of
 * coders who coded it does not change: `starts[i]` to `starts[i + 1]` (the
 * last to the end of the text) is coded by the coders in bit mask `masks[i]`
 * (bit c: coder c). Found by sweeping the spans' ends in order, so a paper
 * costs the number of its spans, not of its characters.
 */
function coverage(length: number, spans: readonly CodedSpan[], coders: readonly string[], tag: string) {
  const events: { at: number; coder: number; step: number }[] = [];
  for (const s of spans) {
    const c = coders.indexOf(s.coder);
    const start = Math.max(0, s.start);
    const end = Math.min(length, s.end);
    if (c < 0 || start >= end || !s.tags.includes(tag)) continue;
    events.push({ at: start, coder: c, step: 1 }, { at: end, coder: c, step: -1 });
  }
  events.sort((x, y) => x.at - y.at);
  const depth = new Int32Array(coders.length);
  const starts = [0];
  const masks = [0];
  let mask = 0;
  for (let i = 0; i < events.length;) {
    const at = events[i]!.at;
    for (; i < events.length && events[i]!.at === at; i++) {
      const e = events[i]!;
      depth[e.coder]! += e.step;
      mask = depth[e.coder]! > 0 ? mask | (1 << e.coder) : mask & ~(1 << e.coder);
    }
    if (at >= length) break;
    if (starts[starts.length - 1] === at) masks[masks.length - 1] = mask;
    else if (masks[masks.length - 1] !== mask) {
      starts.push(at);
      masks.push(mask);
    }
  }
  return { starts, masks };
}

/** Whether a low surrogate at `i` completes a pair (so `i` does not start a character). */
const pairLow = (text: string, i: number): boolean => {
  const c = text.charCodeAt(i);
  if (c < 0xdc00 || c > 0xdfff || i === 0) return false;
  const h = text.charCodeAt(i - 1);
  return h >= 0xd800 && h <= 0xdbff;
};

/**
 * For each tag, the count of units by the pattern of coders who coded them
 * ("1") or not ("0"), in `coders` order. A unit is coded by a coder when any
 * of its UTF-16 units is inside one of the coder's spans with the tag;
 * characters are code points, so a pair of surrogates is one unit.
 */
function patternsByTag(papers: readonly RoundPaper[], spans: readonly CodedSpan[], coders: readonly string[], unit: Unit) {
  const tags = [...new Set(spans.flatMap((s) => s.tags))].sort((a, b) => a.localeCompare(b));
  const out = new Map<string, Map<string, number>>(tags.map((t) => [t, new Map()]));
  for (const paper of papers) {
    const { text } = paper;
    const mine = spans.filter((s) => s.docId === paper.id);
    // Characters before each offset that are second halves of a pair (they start no unit).
    let lows: Int32Array | null = null;
    if (unit === 'characters') {
      lows = new Int32Array(text.length + 1);
      for (let i = 0; i < text.length; i++) lows[i + 1] = lows[i]! + (pairLow(text, i) ? 1 : 0);
    }
    for (const tag of tags) {
      const { starts, masks } = coverage(text.length, mine, coders, tag);
      const endOf = (k: number): number => (k + 1 < starts.length ? starts[k + 1]! : text.length);
      // The pattern as a bit mask: no string per unit.
      const counts = new Map<number, number>();
      const add = (key: number, n: number) => {
        if (n !== 0) counts.set(key, (counts.get(key) ?? 0) + n);
      };
      if (lows) {
        for (let k = 0; k < starts.length; k++) {
          const a = starts[k]!;
          const b = endOf(k);
          if (a >= b) continue;
          add(masks[k]!, b - a - (lows[b]! - lows[a]!));
          // A character split by a span's end counts once, coded by the coders of either half.
          if (b < text.length && pairLow(text, b)) {
            add(masks[k]!, -1);
            add(masks[k]! | masks[k + 1]!, 1);
          }
        }
      } else {
        for (const p of paper.passages) {
          if (p.start >= p.end) {
            add(0, 1); // an empty passage holds nothing to code
            continue;
          }
          let key = 0;
          // The stretches that overlap the passage: from the last one starting at or before it.
          let lo = 0;
          let hi = starts.length - 1;
          while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if (starts[mid]! <= p.start) lo = mid;
            else hi = mid - 1;
          }
          for (let k = lo; k < starts.length && starts[k]! < p.end; k++) if (endOf(k) > p.start) key |= masks[k]!;
          add(key, 1);
        }
      }
      const byPattern = out.get(tag)!;
      for (const [key, n] of counts) {
        const pattern = coders.map((_, c) => ((key >> c) & 1 ? '1' : '0')).join('');
        byPattern.set(pattern, (byPattern.get(pattern) ?? 0) + n);
      }
    }
  }
  return out;
}

function row(tag: string | null, counts: Map<string, number>, coders: readonly string[]): AgreementRow {
  const patterns: Pattern[] = [...counts].map(([key, count]) => ({ values: [...key].map(Number), count }));
  const coded: Record<string, number> = {};
  coders.forEach((c, i) => (coded[c] = patterns.reduce((n, p) => n + (p.values[i] === 1 ? p.count : 0), 0)));
  return {
    tag,
    coded,
    units: patterns.reduce((n, p) => n + p.count, 0),
    percent: percentAgreement(patterns),
    kappa: coders.length === 2 ? cohenKappa(patterns) : null,
    alpha: krippendorffAlphaNominal(patterns),
  };
}

/** The agreement table of a round's papers and the coders' spans, per tag and overall (pooled over tags). */
export function agreementTable(
  papers: readonly RoundPaper[],
  spans: readonly CodedSpan[],
  coders: readonly string[],
  unit: Unit,
): AgreementTable {
  return tableOfPatterns(patternsByTag(papers, spans, coders, unit), coders, unit);
}

/**
 * The agreement table from the units counted per tag by the pattern of coders
 * who coded them ("1") or not ("0", in `coders` order): a row per tag, in the
 * map's order, and the overall row pooled over tags.
 */
export function tableOfPatterns(byTag: ReadonlyMap<string, Map<string, number>>, coders: readonly string[], unit: Unit): AgreementTable {
  const pooled = new Map<string, number>();
  for (const counts of byTag.values()) for (const [k, n] of counts) pooled.set(k, (pooled.get(k) ?? 0) + n);
  return {
    unit,
    coders: [...coders],
    rows: [...[...byTag].map(([tag, counts]) => row(tag, counts, coders)), row(null, pooled, coders)],
  };
}
