// The document page's annotation layer: select text → popover → POST
// /api/annotations; click a highlight → edit (PATCH) or delete (DELETE);
// `?reattach=<id>` → the next selection moves that annotation (PATCH start/end).
// On the concordance page the same popover codes a line: each line
// (`tr.conc-line[data-doc-id]`) holds its contexts and keyword as pieces, so a
// selection inside a line maps to offsets in that line's paper, and a line's
// Code button opens the popover on exactly the keyword's range.
//
// Offsets. The server renders each piece of a passage as
// `<span class="pc|cell" data-start data-end>` whose text nodes hold exactly
// the document text of that range (marks inside split it, never add to it).
// A selection boundary inside a piece is its `data-start` plus the UTF-16 code
// units of text between the piece's start and the boundary — DOM offsets count
// UTF-16 code units, and Range#toString concatenates exactly those text nodes.
// A boundary outside every piece (between passages, in a margin, in the header)
// snaps to the nearest piece inward: a start to the next piece's start, an end
// to the previous piece's end. Template whitespace lies outside the pieces, so
// it never shifts an offset.

import { ApiError, api, applyColours, parseTags } from './duikou.js';
import { t } from './i18n.js';

const PIECE = 'span.pc[data-start], span.cell[data-start]';

/**
 * The piece span holding a DOM position, if any.
 * @param {Node} node
 * @returns {HTMLElement | null}
 */
function pieceOf(node) {
  const el = node.nodeType === Node.ELEMENT_NODE ? /** @type {Element} */ (node) : node.parentElement;
  const p = el?.closest(PIECE);
  return p instanceof HTMLElement ? p : null;
}

/**
 * Document offset of a selection boundary.
 * @param {Element} root - the article holding the pieces
 * @param {Node} node - boundary container
 * @param {number} offset - boundary offset in the container (DOM: UTF-16 code units in text nodes)
 * @param {'start' | 'end'} side - which way to snap a boundary that is outside every piece
 * @returns {{ offset: number, piece: HTMLElement, snapped: boolean } | null}
 */
export function boundaryOffset(root, node, offset, side) {
  const piece = pieceOf(node);
  if (piece && root.contains(piece)) {
    const r = document.createRange();
    r.setStart(piece, 0);
    r.setEnd(node, offset);
    return { offset: Number(piece.dataset.start) + r.toString().length, piece, snapped: false };
  }
  const at = document.createRange();
  at.setStart(node, offset);
  at.collapse(true);
  const pieces = /** @type {HTMLElement[]} */ ([...root.querySelectorAll(PIECE)]);
  if (side === 'start') {
    // The first piece that begins at or after the boundary.
    for (const p of pieces) if (at.comparePoint(p, 0) >= 0) return { offset: Number(p.dataset.start), piece: p, snapped: true };
  } else {
    for (let i = pieces.length - 1; i >= 0; i--) {
      const p = /** @type {HTMLElement} */ (pieces[i]);
      if (at.comparePoint(p, p.childNodes.length) <= 0) return { offset: Number(p.dataset.end), piece: p, snapped: true };
    }
  }
  return null;
}

/**
 * Document range of a DOM range over the article; `exact` only when both ends
 * lie in one piece (then the DOM text is the document text; across pieces the
 * gaps between them are not on the page, and the server fills the quote in).
 * @param {Element} root
 * @param {Range} range
 * @returns {{ start: number, end: number, exact?: string } | null}
 */
export function rangeOffsets(root, range) {
  const s = boundaryOffset(root, range.startContainer, range.startOffset, 'start');
  const e = boundaryOffset(root, range.endContainer, range.endOffset, 'end');
  if (!s || !e || e.offset <= s.offset) return null;
  if (s.piece === e.piece && !s.snapped && !e.snapped) return { start: s.offset, end: e.offset, exact: range.toString() };
  return { start: s.offset, end: e.offset };
}

/**
 * The quote a selection shows in the popover: its text as the page draws it,
 * with the space CSS draws where a page-break join falls between Latin words
 * and without the hidden hyphen of a word made whole across one.
 * @param {Range} range
 * @returns {string}
 */
export function selectionQuote(range) {
  const copy = range.cloneContents();
  for (const pc of copy.querySelectorAll('span.pc.join-space')) pc.prepend(' ');
  for (const pc of copy.querySelectorAll('span.pc.join-hyphen')) pc.remove();
  return (copy.textContent ?? '').trim();
}

function init() {
  const first = document.querySelector('article.paper[data-doc-id]') ?? document.querySelector('table.conc');
  const pop = document.getElementById('ann-pop');
  const form = document.getElementById('ann-form');
  if (!(first instanceof HTMLElement) || !pop || !(form instanceof HTMLFormElement)) return;
  /** @type {HTMLElement} */
  let article = first;
  /** The concordance: many papers, one per line; no highlights to edit. */
  const concordance = article.matches('table.conc');
  let docId = article.dataset.docId ?? '';
  /** @type {HTMLElement | null} the concordance line being coded */
  let line = null;
  let reattachId = article.dataset.reattach ?? null;

  const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
  const title = $('ann-pop-title');
  const quote = $('ann-quote');
  const others = $('ann-others');
  const tagsInput = /** @type {HTMLInputElement} */ ($('ann-tags'));
  const taglist = $('ann-taglist');
  const note = /** @type {HTMLTextAreaElement} */ ($('ann-note'));
  const error = $('ann-error');
  const save = /** @type {HTMLButtonElement} */ ($('ann-save'));
  const del = $('ann-delete');
  const confirmBox = $('ann-confirm');
  const actions = /** @type {HTMLElement} */ (form.querySelector('.ann-actions'));

  for (const el of document.querySelectorAll('.js-only')) el.removeAttribute('hidden');
  applyColours(document);

  /** @type {Map<string, import('./duikou.js').Annotation>} */
  let annotations = new Map();
  /** @type {string[]} */
  let tagNames = [];
  /** Each tag's pinyin and initials (from /api/tags), for finding it by `dkzy`. */
  /** @type {{ name: string, pinyin: string, initials: string }[]} */
  let tagKeys = [];
  // Tags whose pinyin or initials hold what is typed (a datalist only matches the names themselves).
  const pinyinBox = document.createElement('div');
  pinyinBox.className = 'ann-pinyin';
  pinyinBox.id = 'ann-pinyin';
  pinyinBox.hidden = true;
  tagsInput.after(pinyinBox);
  /** @type {{ kind: 'create' | 'reattach', start: number, end: number, exact?: string } | { kind: 'edit', id: string } | null} */
  let mode = null;
  /** @type {Element | null} */
  let returnFocus = null;
  let busy = false;
  let lastColour = '';

  /**
   * Every annotation of this paper, page by page (the API answers at most 500 at a time). When
   * the count changes between pages (another coder added or deleted one), the offsets have moved
   * and a page may have skipped one: read them again, a few times at most.
   */
  async function allAnnotations() {
    for (let attempt = 0; ; attempt++) {
      /** @type {import('./duikou.js').Annotation[]} */
      const all = [];
      /** @type {number | null} */
      let next = 0;
      /** @type {number | null} */
      let total = null;
      let moved = false;
      while (next !== null) {
        const page = await api('GET', `/api/annotations?docId=${encodeURIComponent(docId)}&limit=500&offset=${next}`);
        if (total !== null && page.total !== total) {
          moved = true;
          break;
        }
        total = page.total;
        all.push(...page.annotations);
        // Onwards only: an answer that does not move on ends the reading rather than repeating it.
        next = typeof page.next === 'number' && page.next > next ? page.next : null;
      }
      if (!moved || attempt >= 2) return { annotations: all };
    }
  }

  async function loadData() {
    try {
      const [a, t] = await Promise.all([concordance ? { annotations: [] } : allAnnotations(), api('GET', '/api/tags')]);
      annotations = new Map(a.annotations.map((/** @type {import('./duikou.js').Annotation} */ x) => [x.id, x]));
      tagNames = t.tags.map((/** @type {import('./duikou.js').Tag} */ x) => x.name);
      tagKeys = t.tags.map((/** @type {import('./duikou.js').Tag} */ x) => ({
        name: x.name,
        pinyin: x.pinyin ?? '',
        initials: x.initials ?? '',
      }));
    } catch (e) {
      console.warn('duikou: could not load annotations', e);
    }
  }

  function updateSuggestions() {
    const v = tagsInput.value;
    const cut = Math.max(...[',', '，', '、', ';', '；'].map((c) => v.lastIndexOf(c)));
    const prefix = cut < 0 ? '' : `${v.slice(0, cut + 1)} `;
    const chosen = new Set(parseTags(prefix, tagNames).map((t) => t.toLowerCase()));
    const options = tagNames.filter((n) => !chosen.has(n.toLowerCase())).slice(0, 100);
    taglist.replaceChildren(
      ...options.map((n) => {
        const o = document.createElement('option');
        o.value = prefix + n;
        return o;
      }),
    );
    const typed = v
      .slice(cut + 1)
      .trim()
      .toLowerCase()
      .replace(/[\s'’-]/g, '')
      .replace(/ü/g, 'v');
    const found = /^[a-z]{2,}$/.test(typed)
      ? tagKeys.filter((k) => !chosen.has(k.name.toLowerCase()) && (k.pinyin.includes(typed) || k.initials.includes(typed))).slice(0, 8)
      : [];
    pinyinBox.replaceChildren(
      ...found.map((k) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'chip';
        b.textContent = k.name;
        b.addEventListener('click', () => {
          tagsInput.value = `${prefix}${k.name}, `;
          tagsInput.focus();
          updateSuggestions();
        });
        return b;
      }),
    );
    pinyinBox.hidden = found.length === 0;
  }

  /** @param {string} message */
  function showError(message) {
    error.textContent = message;
    error.hidden = message === '';
  }

  /** @param {string} colour */
  function setColour(colour) {
    const radios = /** @type {HTMLInputElement[]} */ ([...form.querySelectorAll('input[name="colour"]')]);
    const match = radios.find((r) => r.value === colour.toLowerCase()) ?? radios[0];
    if (match) match.checked = true;
  }
  const chosenColour = () => /** @type {HTMLInputElement | null} */ (form.querySelector('input[name="colour"]:checked'))?.value;

  /** @param {DOMRect} rect */
  function place(rect) {
    pop.hidden = false;
    const w = pop.offsetWidth;
    const h = pop.offsetHeight;
    const vw = document.documentElement.clientWidth;
    let top = rect.bottom + 8;
    if (top + h > window.innerHeight && rect.top - h - 8 > 0) top = rect.top - h - 8;
    const left = Math.min(Math.max(8, rect.left), Math.max(8, vw - w - 8));
    pop.style.setProperty('top', `${Math.round(top + window.scrollY)}px`);
    pop.style.setProperty('left', `${Math.round(left + window.scrollX)}px`);
  }

  function resetConfirm() {
    confirmBox.hidden = true;
    actions.hidden = false;
  }

  /**
   * @param {NonNullable<typeof mode>} m
   * @param {DOMRect} rect
   * @param {string} quoteText
   */
  function open(m, rect, quoteText) {
    mode = m;
    returnFocus = document.activeElement;
    resetConfirm();
    showError('');
    const id = m.kind === 'edit' ? m.id : m.kind === 'reattach' ? reattachId : null;
    const a = id ? annotations.get(id) : undefined;
    // On again if an annotation opened before was still being read (see fillWhenRead).
    tagsInput.disabled = false;
    note.disabled = false;
    title.textContent = m.kind === 'edit' ? t('editAnnotation') : m.kind === 'reattach' ? t('reattach') : t('annotate');
    quote.textContent = quoteText.length > 300 ? `${quoteText.slice(0, 300)}…` : quoteText;
    tagsInput.value = a ? a.tags.join(', ') : '';
    updateSuggestions();
    note.value = a ? a.note : '';
    setColour(a ? a.colour : lastColour);
    del.hidden = m.kind !== 'edit';
    save.textContent = m.kind === 'reattach' ? t('moveHere') : t('save');
    save.disabled = false;
    others.hidden = true;
    updateSuggestions();
    place(rect);
    tagsInput.focus();
    if (id && !a) void fillWhenRead(m, id);
  }

  /**
   * An annotation opened before the paper's list has reached it (a paper with more than a page of
   * them, on a slow connection): read it alone, and keep Save off until its tags and note are in the
   * fields, so saving can never write empty ones over them.
   * @param {NonNullable<typeof mode>} m - the popover's mode when it opened (nothing is filled once it changed)
   * @param {string} id
   */
  async function fillWhenRead(m, id) {
    const fields = [tagsInput, note, save];
    for (const f of fields) f.disabled = true;
    try {
      /** @type {import('./duikou.js').Annotation} */
      const a = await api('GET', `/api/annotations/${encodeURIComponent(id)}`);
      if (mode !== m) return;
      annotations.set(a.id, a);
      tagsInput.value = a.tags.join(', ');
      note.value = a.note;
      setColour(a.colour);
      for (const f of fields) f.disabled = false;
      updateSuggestions();
      tagsInput.focus();
    } catch (e) {
      if (mode !== m) return;
      // Tags and note stay off: what they hold is not known, so nothing is saved over it.
      showError(e instanceof ApiError ? e.message : String(e));
    }
  }

  function close() {
    if (pop.hidden) return;
    pop.hidden = true;
    mode = null;
    if (returnFocus instanceof HTMLElement && returnFocus.isConnected) returnFocus.focus();
    returnFocus = null;
  }

  /**
   * Open the editor for a highlight (the innermost annotation under it; the others are offered as buttons).
   * @param {HTMLElement} mark
   * @param {string} [id]
   */
  function openEdit(mark, id) {
    const ids = (mark.dataset.ids ?? '').split(' ').filter(Boolean);
    const current = id ?? ids[ids.length - 1];
    if (!current) return;
    const a = annotations.get(current);
    open({ kind: 'edit', id: current }, mark.getBoundingClientRect(), a ? (a.quote ?? a.exact) : (mark.textContent ?? ''));
    returnFocus = mark;
    const rest = ids.filter((x) => x !== current);
    if (rest.length) {
      const label = /** @type {Element} */ (others.firstElementChild);
      others.replaceChildren(
        label,
        ...rest.map((x) => {
          const b = document.createElement('button');
          b.type = 'button';
          b.className = 'secondary small';
          const o = annotations.get(x);
          b.textContent = o ? o.tags.join(', ') || `${(o.quote ?? o.exact).slice(0, 16)}…` : x.slice(0, 8);
          b.addEventListener('click', () => openEdit(mark, x));
          return b;
        }),
      );
      others.hidden = false;
    }
  }

  /**
   * Re-render the paper from the server (same URL, without `reattach`), then reload the data.
   * @param {string} [focusId] - annotation whose highlight gets the focus when the popover closes
   */
  async function refresh(focusId) {
    if (concordance) {
      // Nothing to re-draw: say on the line that it was coded.
      if (line) {
        line.classList.add('coded');
        const b = line.querySelector('button.code-line');
        if (b) b.textContent = t('coded');
      }
      await loadData();
      return;
    }
    const url = new URL(window.location.href);
    url.hash = '';
    url.searchParams.delete('reattach');
    const res = await fetch(url, { headers: { accept: 'text/html' }, credentials: 'same-origin' });
    if (res.ok) {
      const fresh = new DOMParser().parseFromString(await res.text(), 'text/html').querySelector('article.paper');
      if (fresh instanceof HTMLElement) {
        const node = /** @type {HTMLElement} */ (document.importNode(fresh, true));
        article.replaceWith(node);
        article = node;
        applyColours(article);
      }
    }
    await loadData();
    if (focusId) {
      const m = document.getElementById(`a-${focusId}`);
      if (m instanceof HTMLElement) returnFocus = m.closest('mark.hl') ?? m;
    }
  }

  function leaveReattach() {
    reattachId = null;
    delete article.dataset.reattach;
    document.getElementById('reattach-bar')?.remove();
    const url = new URL(window.location.href);
    url.searchParams.delete('reattach');
    history.replaceState(null, '', url);
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    // Save is off while the annotation being edited is read (see fillWhenRead), whatever submits the form.
    if (!mode || busy || save.disabled) return;
    const m = mode;
    const colour = chosenColour();
    // The vocabulary's names and the annotation's own stay whole when they hold a comma or 、.
    const own = m.kind === 'edit' ? (annotations.get(m.id)?.tags ?? []) : [];
    const fields = { tags: parseTags(tagsInput.value, [...tagNames, ...own]), note: note.value, ...(colour ? { colour } : {}) };
    busy = true;
    save.disabled = true;
    showError('');
    try {
      let saved;
      if (m.kind === 'create') {
        saved = await api('POST', '/api/annotations', {
          docId,
          start: m.start,
          end: m.end,
          ...(m.exact ? { exact: m.exact } : {}),
          ...fields,
        });
      } else if (m.kind === 'reattach') {
        saved = await api('PATCH', `/api/annotations/${encodeURIComponent(reattachId ?? '')}`, {
          start: m.start,
          end: m.end,
          ...(m.exact ? { exact: m.exact } : {}),
          ...fields,
        });
        leaveReattach();
      } else {
        saved = await api('PATCH', `/api/annotations/${encodeURIComponent(m.id)}`, fields);
      }
      if (colour) lastColour = colour;
      window.getSelection()?.removeAllRanges();
      await refresh(saved.id);
      close();
    } catch (e) {
      showError(e instanceof ApiError ? e.message : String(e));
      save.disabled = false;
    } finally {
      busy = false;
    }
  });

  $('ann-cancel').addEventListener('click', close);
  del.addEventListener('click', () => {
    actions.hidden = true;
    confirmBox.hidden = false;
    $('ann-confirm-delete').focus();
  });
  $('ann-keep').addEventListener('click', () => {
    resetConfirm();
    del.focus();
  });
  $('ann-confirm-delete').addEventListener('click', async () => {
    if (mode?.kind !== 'edit' || busy) return;
    busy = true;
    try {
      await api('DELETE', `/api/annotations/${encodeURIComponent(mode.id)}`);
      returnFocus = null;
      await refresh();
      close();
    } catch (e) {
      resetConfirm();
      showError(e instanceof ApiError ? e.message : String(e));
    } finally {
      busy = false;
    }
  });
  tagsInput.addEventListener('input', updateSuggestions);

  /** A finished selection (mouse or keyboard): open the popover for it, or for a clicked highlight. */
  function selectionDone(/** @type {EventTarget | null} */ target) {
    const sel = window.getSelection();
    if (sel && sel.rangeCount > 0 && !sel.isCollapsed) {
      const range = sel.getRangeAt(0);
      if (!range.intersectsNode(article) || pop.contains(range.commonAncestorContainer)) return;
      let root = article;
      if (concordance) {
        // A selection codes one line, in that line's paper.
        const node = range.commonAncestorContainer;
        const tr = (node.nodeType === Node.ELEMENT_NODE ? /** @type {Element} */ (node) : node.parentElement)?.closest('tr.conc-line');
        if (!(tr instanceof HTMLElement) || !article.contains(tr)) return;
        root = tr;
        line = tr;
        docId = tr.dataset.docId ?? '';
      }
      const r = rangeOffsets(root, range);
      if (!r) return;
      const rect = range.getBoundingClientRect();
      open({ kind: reattachId ? 'reattach' : 'create', ...r }, rect, selectionQuote(range));
      return;
    }
    const mark = target instanceof Element ? target.closest('mark.hl') : null;
    if (mark instanceof HTMLElement && article.contains(mark)) openEdit(mark);
    else close();
  }

  if (concordance) {
    for (const b of article.querySelectorAll('button.code-line')) {
      b.removeAttribute('hidden');
      b.addEventListener('click', () => {
        const tr = b.closest('tr.conc-line');
        if (!(tr instanceof HTMLElement)) return;
        line = tr;
        docId = tr.dataset.docId ?? '';
        const keyword = tr.querySelector('td.kw .pc')?.textContent ?? '';
        const start = Number(tr.dataset.start);
        const end = Number(tr.dataset.end);
        open({ kind: 'create', start, end, exact: keyword }, b.getBoundingClientRect(), keyword);
        returnFocus = b;
      });
    }
  }

  document.addEventListener('mouseup', (ev) => {
    if (ev.button !== 0 || (ev.target instanceof Node && pop.contains(ev.target))) return;
    // A line's Code button opens the popover itself (on click, after this mouseup).
    if (ev.target instanceof Element && ev.target.closest('button.code-line')) return;
    const target = ev.target;
    setTimeout(() => selectionDone(target), 0);
  });
  document.addEventListener('keyup', (ev) => {
    // Shift+arrows select with the keyboard; releasing Shift finishes the selection.
    if (ev.key === 'Shift' && !(ev.target instanceof Node && pop.contains(ev.target))) {
      const sel = window.getSelection();
      if (sel && !sel.isCollapsed) selectionDone(null);
    }
  });
  // Touch (and pen): a selection is made with a long press and adjusted with handles, and no mouseup
  // follows, so the popover opens once the selection has stayed put for a moment.
  let pointer = 'mouse';
  document.addEventListener('pointerdown', (ev) => (pointer = ev.pointerType || 'mouse'), true);
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let settle;
  document.addEventListener('selectionchange', () => {
    if (pointer === 'mouse') return; // mouseup and Shift's keyup finish those selections
    clearTimeout(settle);
    settle = setTimeout(() => {
      const sel = window.getSelection();
      if (!sel || sel.isCollapsed || (!pop.hidden && pop.contains(document.activeElement))) return;
      selectionDone(null);
    }, 350);
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !pop.hidden) {
      ev.preventDefault();
      close();
      return;
    }
    const t = ev.target;
    if ((ev.key === 'Enter' || ev.key === ' ') && t instanceof HTMLElement && t.matches('mark.hl') && article.contains(t)) {
      ev.preventDefault();
      openEdit(t);
    }
  });

  loadData();
}

init();
