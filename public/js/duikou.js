// Helpers shared by duikou's page scripts: JSON API calls and colours.
// Plain browser ES module, no build step. Never puts user data into innerHTML.
import { localMessage, t } from './i18n.js';

/**
 * @typedef {{ id: string, docId: string, start: number, end: number, exact: string, note: string,
 *   colour: string, tags: string[], status: string, createdAt: string, updatedAt: string,
 *   quote?: string, page?: { first: number, last: number } | null }} Annotation
 * @typedef {{ name: string, colour: string | null, description: string, count: number, totalCount: number,
 *   pinyin?: string, initials?: string }} Tag
 */

/** An API error with the server's code and message. */
export class ApiError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {number} status
   */
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/**
 * Call the JSON API; resolves to the parsed body, rejects with an ApiError carrying the server's message.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  /** @type {RequestInit} */
  const init = { method, headers: { accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers = { accept: 'application/json', 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError('network', t('network'), 0);
  }
  let data;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = data && typeof data === 'object' && data.error ? data.error : null;
    throw new ApiError(e?.code ?? 'http_error', e?.message ? localMessage(e.message) : t('httpError', { status: res.status }), res.status);
  }
  return data;
}

const HEX = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

/**
 * Give every `[data-colour]` element under `root` its colour as the `--hl`
 * custom property (CSSOM, which the CSP allows; `style=` attributes it forbids).
 * @param {ParentNode} root
 */
export function applyColours(root) {
  for (const el of root.querySelectorAll('[data-colour]')) {
    const c = el.getAttribute('data-colour') ?? '';
    if (HEX.test(c) && el instanceof HTMLElement) el.style.setProperty('--hl', c);
  }
}

/**
 * Split what was typed in a tag field into tag names (commas, full-width
 * commas, 、 or semicolons separate). A known name holding a separator itself
 * (a code imported as "Health, education", a tag named 教育、医疗) is kept whole
 * where the field holds it as one item, as the server's `splitTagList`
 * (src/store/annotation-rules.ts) does, so saving a card keeps its tags.
 * @param {string} value
 * @param {readonly string[]} [known] names to keep whole: the annotation's tags, the vocabulary
 * @returns {string[]}
 */
export function parseTags(value, known = []) {
  const sep = /([,，、;；])/;
  const whole = new Set(known.filter((n) => sep.test(n)).map((n) => n.trim()));
  const parts = value.split(sep);
  const out = [];
  const seen = new Set();
  const push = (/** @type {string} */ t) => {
    if (t === '' || seen.has(t.toLowerCase())) return;
    seen.add(t.toLowerCase());
    out.push(t);
  };
  for (let i = 0; i < parts.length; i += 2) {
    let taken = -1;
    let joined = parts[i];
    for (let j = i + 2; j < parts.length && whole.size > 0; j += 2) {
      joined += parts[j - 1] + parts[j];
      if (whole.has(joined.trim())) taken = j;
    }
    if (taken < 0) push(parts[i].trim());
    else {
      push(
        parts
          .slice(i, taken + 1)
          .join('')
          .trim(),
      );
      i = taken;
    }
  }
  return out;
}

/**
 * The tag names a page knows: its list of tags for the tag fields (`datalist`
 * options) and the chips of `within` (an annotation card), for {@link parseTags}.
 * @param {ParentNode} [within]
 * @returns {string[]}
 */
export function knownTags(within) {
  const names = [...document.querySelectorAll('datalist option')].map((o) => /** @type {HTMLOptionElement} */ (o).value);
  if (within) for (const chip of within.querySelectorAll('.chip')) names.push(chip.textContent ?? '');
  return names;
}

/**
 * Whether a tag node is found by what was typed: the name contains it, or
 * (for letters) its pinyin or initials do (`dkzy`, `duikou` find 对口支援).
 * The server puts each tag's toneless pinyin and initials in `data-pinyin` and
 * `data-initials`.
 * @param {HTMLElement} node
 * @param {string} typed
 */
function tagMatches(node, typed) {
  const t = typed.trim().toLowerCase();
  if (t === '') return true;
  if ((node.dataset.tag ?? '').toLowerCase().includes(t)) return true;
  const letters = t.replace(/[\s'’-]/g, '').replace(/ü/g, 'v');
  if (!/^[a-z]+$/.test(letters)) return false;
  return (node.dataset.pinyin ?? '').includes(letters) || (node.dataset.initials ?? '').includes(letters);
}

/**
 * Make the `#tagfind` box (hidden without JavaScript) filter the tag tree
 * `root` as one types: a tag stays when it or a descendant matches.
 * @param {ParentNode} root
 */
export function tagFinder(root) {
  const input = /** @type {HTMLInputElement | null} */ (document.getElementById('tagfind'));
  if (!input) return;
  const label = input.closest('label');
  if (label) label.hidden = false;
  input.addEventListener('input', () => {
    const nodes = /** @type {HTMLElement[]} */ ([...root.querySelectorAll('li.tagnode')]).reverse();
    // Children come after their parent in document order, so walking backwards sees them first.
    for (const n of nodes) {
      const childShown = [...n.querySelectorAll(':scope > ul > li.tagnode')].some((c) => !(/** @type {HTMLElement} */ (c).hidden));
      n.hidden = !(tagMatches(n, input.value) || childShown);
    }
  });
}
