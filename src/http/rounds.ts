/**
 * Coding rounds in the app: the owner opens a round on papers and coders and
 * closes it; the agreement table (JSON, CSV, page) and the comparison view of
 * two coders on one paper are for the owner at any time and for everyone once
 * the round is closed (while it is open they would tell a coder what the
 * others coded).
 *
 * - `GET /api/rounds`, `POST /api/rounds` {name, docIds, coders}, `POST /api/rounds/:id/close`
 * - `GET /api/rounds/:id/agreement?unit=characters|passages[&format=csv]`
 * - pages: `/rounds` (list, and the owner's form), `/rounds/:id` (agreement), `/rounds/:id/compare?doc=&a=&b=`
 */
import express, { type Request, Router } from 'express';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import { type AgreementTable, type CodedSpan, type Unit, agreementTable } from '../services/agreement.js';
import { UserInputError } from '../core/errors.js';
import type { AccountBackend, AnnotationBackend, RoundBackend, PaperCatalog } from '../backends/types.js';
import type { Round } from '../store/rounds.js';
import type { Viewer } from '../store/users.js';
import { viewerOf } from './accounts.js';
import { parseBody } from './annotations-api.js';
import type { FlashMessages } from './flash.js';
import { type AnnotationMark, documentBodyHtml, type DocMark } from './passage-html.js';
import { str } from './params.js';
import { tr } from './i18n.js';

/** The two colours of the comparison view (palette entries, so the page needs no inline style). */
export const COMPARE_COLOURS = ['#90caf9', '#f48fb1'] as const;

const newRound = z.strictObject({
  name: z.string().max(200),
  docIds: z.array(z.string().max(512)).max(1000),
  // At most 30: agreement patterns are bit masks of the coders.
  coders: z.array(z.string().max(200)).max(30),
});

function unitParam(req: Request): Unit {
  const u = str(req.query as Record<string, unknown>, 'unit') || 'characters';
  if (u !== 'characters' && u !== 'passages') throw new UserInputError('bad_parameter', '"unit" must be characters or passages');
  return u;
}

/** While a round is open only the owner sees how its coders coded. */
function mayCompare(round: Round, viewer: Viewer): void {
  if (round.status === 'open' && viewer.role !== 'owner') {
    throw new UserInputError(
      'round_open',
      `Round "${round.name}" is still open: its coders' work is compared once the owner closes it (轮次尚未结束)`,
      403,
    );
  }
}

/** The round's coders' anchored annotations in its papers, as spans. */
async function roundSpans(store: AnnotationBackend, round: Round): Promise<CodedSpan[]> {
  const spans: CodedSpan[] = [];
  for (const docId of round.docIds) {
    for (const a of await store.list({ docId, orphaned: false })) {
      if (round.coders.includes(a.createdBy)) spans.push({ id: a.id, docId, start: a.start, end: a.end, coder: a.createdBy, tags: a.tags });
    }
  }
  return spans;
}

async function roundTable(engine: PaperCatalog, store: AnnotationBackend, round: Round, unit: Unit): Promise<AgreementTable> {
  const papers = round.docIds.flatMap((id) => {
    const d = engine.document(id);
    return d ? [{ id, text: d.text, passages: d.passages }] : [];
  });
  return agreementTable(papers, await roundSpans(store, round), round.coders, unit);
}

const fixed = (x: number | null, digits = 3) => (x === null ? '' : x.toFixed(digits));

/** The agreement table as CSV: one row per tag and an overall row, the unit named in every row. */
export function agreementCsv(round: Round, t: AgreementTable): string {
  const header = [
    'round',
    'unit',
    'tag',
    'units',
    ...t.coders.map((c) => `coded by ${c}`),
    'percent agreement',
    'cohen kappa',
    'krippendorff alpha',
  ];
  const rows = t.rows.map((r) => [
    round.name,
    t.unit,
    r.tag ?? '(all tags)',
    r.units,
    ...t.coders.map((c) => r.coded[c] ?? 0),
    fixed(r.percent, 4),
    fixed(r.kappa, 4),
    fixed(r.alpha, 4),
  ]);
  // escape_formulas: a tag or round name typed as =… must not run in a spreadsheet.
  return `\ufeff${stringify([header, ...rows], { escape_formulas: true, record_delimiter: 'windows' })}`;
}

/** Where two coders differ on one paper: per tag, the runs only one of them coded. */
export function disagreements(
  text: string,
  spans: readonly CodedSpan[],
  a: string,
  b: string,
): { tag: string; start: number; end: number; only: string; quote: string }[] {
  const tags = [...new Set(spans.filter((s) => s.coder === a || s.coder === b).flatMap((s) => s.tags))].sort((x, y) => x.localeCompare(y));
  const out: { tag: string; start: number; end: number; only: string; quote: string }[] = [];
  const cover = (coder: string, tag: string) => {
    const c = new Uint8Array(text.length);
    for (const s of spans) if (s.coder === coder && s.tags.includes(tag)) c.fill(1, Math.max(0, s.start), Math.min(text.length, s.end));
    return c;
  };
  for (const tag of tags) {
    const ca = cover(a, tag);
    const cb = cover(b, tag);
    let i = 0;
    while (i < text.length) {
      if (ca[i] === cb[i]) {
        i++;
        continue;
      }
      const start = i;
      const onlyA = ca[i] === 1;
      while (i < text.length && ca[i] !== cb[i] && (ca[i] === 1) === onlyA) i++;
      out.push({ tag, start, end: i, only: onlyA ? a : b, quote: text.slice(start, i) });
    }
  }
  return out.sort((x, y) => x.start - y.start || x.tag.localeCompare(y.tag));
}

/** The rounds API and pages. */
export function roundsRouters(
  engine: PaperCatalog,
  store: AnnotationBackend,
  rounds: RoundBackend,
  users: AccountBackend,
  flash: FlashMessages,
): { api: Router; pages: Router } {
  const api = Router();
  const pages = Router();

  /** Check the papers and coders exist; coders by their account's spelling. */
  const create = async (body: unknown, viewer: Viewer) => {
    const b = parseBody(newRound, body);
    for (const id of b.docIds) engine.requireDocument(id);
    const coders: string[] = [];
    for (const name of b.coders) {
      const u = await users.find(name);
      if (!u) throw new UserInputError('bad_round', `No user "${name}" (未找到该用户)`);
      if (u.role === 'reader') throw new UserInputError('bad_round', `${u.name} is a reader; only coders and owners code (读者不能编码)`);
      coders.push(u.name);
    }
    return rounds.create({ name: b.name, docIds: b.docIds, coders }, viewer.name);
  };
  // A round's number as the path writes it: digits only (`1e3` or `abc` names no round, not round 1000 or NaN).
  const roundOf = (req: Request) => {
    const raw = String(req.params.id);
    if (!/^[1-9][0-9]{0,9}$/.test(raw)) throw new UserInputError('not_found', `No coding round "${raw}" (未找到该编码轮次)`, 404);
    return rounds.mustGet(Number(raw));
  };

  api.get('/rounds', async (_req, res) => {
    res.json({ rounds: await rounds.list() });
  });
  api.post('/rounds', async (req, res) => {
    res.status(201).json(await create(req.body, viewerOf(res)));
  });
  api.post('/rounds/:id/close', async (req, res) => {
    res.json(await rounds.close((await roundOf(req)).id));
  });
  api.get('/rounds/:id/agreement', async (req, res) => {
    const round = await roundOf(req);
    mayCompare(round, viewerOf(res));
    const t = await roundTable(engine, store, round, unitParam(req));
    if (str(req.query as Record<string, unknown>, 'format') === 'csv') {
      res.set('Content-Type', 'text/csv; charset=utf-8');
      res.attachment(`agreement-round-${round.id}-${t.unit}.csv`);
      return res.send(agreementCsv(round, t));
    }
    res.json({ round, ...t });
  });

  pages.use((_req, res, next) => {
    res.locals.annotations = true; // the navigation's annotation links
    next();
  });
  const form = express.urlencoded({ extended: false, limit: '64kb' });
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' && v !== '' ? [v] : []);

  pages.get('/rounds', async (_req, res) => {
    const viewer = viewerOf(res);
    res.render('rounds', {
      title: `${tr(res)('title.rounds')} · duikou`,
      active: 'rounds',
      htmlLang: 'en',
      rounds: await rounds.list(),
      owner: viewer.role === 'owner',
      documents: engine.documents().map((d) => ({ id: d.id, title: d.title })),
      coders: (await users.list()).filter((u) => u.role !== 'reader'),
      title_: (id: string) => engine.title(id),
    });
  });
  pages.post('/rounds', form, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    try {
      const r = await create({ name: String(body.name ?? ''), docIds: list(body.docIds), coders: list(body.coders) }, viewerOf(res));
      flash.set(req, res, { kind: 'notice', text: tr(res)('flash.roundOpened', { name: r.name }) });
    } catch (err) {
      if (!(err instanceof UserInputError)) throw err;
      flash.set(req, res, { kind: 'error', text: err.message });
    }
    res.redirect(303, '/rounds');
  });
  pages.post('/rounds/:id/close', async (req, res) => {
    const r = await rounds.close((await roundOf(req)).id);
    flash.set(req, res, { kind: 'notice', text: tr(res)('flash.roundClosed', { name: r.name }) });
    res.redirect(303, `/rounds/${r.id}`);
  });

  // The compare view's form: one annotation accepted as the group's, or several merged into one.
  pages.post('/rounds/:id/merge', form, async (req, res) => {
    const round = await roundOf(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const ids = list(body.ids);
    const docId = String(body.doc ?? '');
    try {
      if (!round.docIds.includes(docId)) throw new UserInputError('bad_merge', 'That paper is not in this round (该文献不在本轮次中)');
      const d = engine.requireDocument(docId);
      if (ids.length === 0) throw new UserInputError('bad_merge', 'Tick the annotations to accept or merge (请勾选标注)');
      const a = await store.merge(ids, { text: d.text, hash: d.hash }, viewerOf(res).name);
      const who = a.mergedFrom.map((m) => m.coder).join(' + ');
      flash.set(req, res, { kind: 'notice', text: tr(res)('flash.merged', { who }) });
    } catch (err) {
      if (!(err instanceof UserInputError)) throw err;
      flash.set(req, res, { kind: 'error', text: err.message });
    }
    res.redirect(303, `/rounds/${round.id}/compare?${new URLSearchParams({ doc: docId }).toString()}`);
  });

  pages.get('/rounds/:id', async (req, res) => {
    const round = await roundOf(req);
    mayCompare(round, viewerOf(res));
    const unit = unitParam(req);
    const t = await roundTable(engine, store, round, unit);
    res.render('round', {
      title: `${round.name} · duikou`,
      active: 'rounds',
      htmlLang: 'en',
      round,
      table: t,
      fixed,
      other: unit === 'characters' ? 'passages' : 'characters',
      papers: round.docIds.map((id) => ({ id, title: engine.title(id) })),
    });
  });

  pages.get('/rounds/:id/compare', async (req, res) => {
    const round = await roundOf(req);
    mayCompare(round, viewerOf(res));
    const q = req.query as Record<string, unknown>;
    const docId = str(q, 'doc') || round.docIds[0]!;
    if (!round.docIds.includes(docId))
      throw new UserInputError('not_found', `Paper "${docId}" is not in this round (该文献不在本轮次中)`, 404);
    const a = str(q, 'a') || round.coders[0]!;
    const b = str(q, 'b') || round.coders[1]!;
    for (const c of [a, b]) if (!round.coders.includes(c)) throw new UserInputError('bad_parameter', `"${c}" is not a coder of this round`);
    const doc = engine.requireDocument(docId);
    const spans = (await roundSpans(store, round)).filter((s) => s.docId === docId && (s.coder === a || s.coder === b));
    const marks = new Map<number, DocMark[]>();
    for (const s of spans) {
      const mark: AnnotationMark = {
        start: s.start,
        end: s.end,
        annotation: {
          id: `${s.coder}-${s.start}-${s.end}`,
          colour: COMPARE_COLOURS[s.coder === a ? 0 : 1],
          tags: [`${s.coder}: ${s.tags.join(', ')}`],
        },
      };
      for (const p of doc.passages) if (p.start < s.end && s.start < p.end) marks.set(p.id, [...(marks.get(p.id) ?? []), mark]);
    }
    const passageOf = (at: number) => doc.passages.find((p) => p.start <= at && at < p.end);
    res.render('compare', {
      title: `${doc.title} · ${a} / ${b} · duikou`,
      active: 'rounds',
      htmlLang: 'en',
      round,
      doc: { id: doc.id, title: doc.title, lang: doc.lang === 'zh' ? 'zh-Hans' : 'en' },
      a,
      b,
      papers: round.docIds.map((id) => ({ id, title: engine.title(id), current: id === docId })),
      coders: round.coders,
      // The page's h1 names the paper already: its title in the text is an h2 here.
      bodyHtml: documentBodyHtml(doc, marks, { anchored: new Set(), titleAsH2: true }),
      owner: viewerOf(res).role === 'owner',
      coded: spans
        .filter((s) => s.id !== undefined)
        .sort((x, y) => x.start - y.start)
        .map((s) => ({
          id: s.id!,
          coder: s.coder,
          tags: s.tags.join(', '),
          quote: doc.text.slice(s.start, s.end),
          colour: s.coder === a ? 'hl-c2' : 'hl-c3',
        })),
      group: (await store.list({ docId, orphaned: false })).filter((x) => x.mergedFrom.length > 0),
      disagreements: disagreements(doc.text, spans, a, b).map((d) => ({ ...d, href: `#p-${passageOf(d.start)?.id ?? ''}` })),
    });
  });

  return { api, pages };
}
