// The annotations page: colours of the quote cards, and each card's edit and
// delete done in place through the JSON API (without JavaScript the same
// forms post to the server and the page comes back). After a change the tag
// tree beside the cards is read again, so its counts stay true.
import { ApiError, api, applyColours, knownTags, parseTags, tagFinder } from './duikou.js';

applyColours(document);
const side = document.querySelector('nav.tagside');
if (side) tagFinder(side);

/** Read the tag tree (and the count above the cards) again from the server. */
async function refreshSide() {
  try {
    const res = await fetch(window.location.href, { credentials: 'same-origin' });
    if (!res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
    const fresh = doc.querySelector('nav.tagside');
    const current = document.querySelector('nav.tagside');
    if (fresh && current) {
      const find = /** @type {HTMLInputElement | null} */ (current.querySelector('#tagfind'));
      const typed = find?.value ?? '';
      current.replaceWith(document.adoptNode(fresh));
      applyColours(fresh);
      tagFinder(fresh);
      const input = /** @type {HTMLInputElement | null} */ (fresh.querySelector('#tagfind'));
      if (input && typed) {
        input.value = typed;
        input.dispatchEvent(new Event('input'));
      }
    }
  } catch (e) {
    console.warn('duikou: could not refresh the tag tree', e);
  }
}

/**
 * Show an annotation as saved on its card: chips, note, colour.
 * @param {HTMLElement} card
 * @param {import('./duikou.js').Annotation} a
 * @param {HTMLFormElement} form
 */
function showSaved(card, a, form) {
  const chips = /** @type {HTMLElement} */ (card.querySelector('ul.chips'));
  chips.replaceChildren(
    ...a.tags.map((t) => {
      const li = document.createElement('li');
      const link = document.createElement('a');
      link.className = 'chip';
      link.href = `/annotations?${new URLSearchParams({ tag: t })}`;
      link.textContent = t;
      li.append(link);
      return li;
    }),
  );
  chips.hidden = a.tags.length === 0;
  const note = /** @type {HTMLElement} */ (card.querySelector('.card-note'));
  note.textContent = a.note;
  note.hidden = a.note === '';
  const quote = /** @type {HTMLElement} */ (card.querySelector('blockquote.quote'));
  const palette = [...form.querySelectorAll('input[name="colour"]')].map((r) => /** @type {HTMLInputElement} */ (r).value);
  const i = palette.indexOf(a.colour.toLowerCase());
  quote.className = `quote ${i < 0 ? 'hl-cx' : `hl-c${i}`}`;
  quote.dataset.colour = a.colour;
  applyColours(card);
  const tags = /** @type {HTMLInputElement} */ (form.elements.namedItem('tags'));
  tags.value = a.tags.join(', ');
}

for (const card of document.querySelectorAll('li.card')) {
  if (!(card instanceof HTMLElement)) continue;
  const id = card.dataset.id ?? '';
  const details = card.querySelector('details.card-edit');
  const form = card.querySelector('form.card-form');
  const del = card.querySelector('form.card-delete');
  const error = /** @type {HTMLElement | null} */ (card.querySelector('.card-error'));
  const say = (/** @type {string} */ s) => {
    if (error) error.textContent = s;
  };
  if (form instanceof HTMLFormElement) {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const data = new FormData(form);
      const colour = String(data.get('colour') ?? '');
      const button = form.querySelector('button[type="submit"]');
      if (button instanceof HTMLButtonElement) button.disabled = true;
      say('');
      try {
        const a = await api('PATCH', `/api/annotations/${encodeURIComponent(id)}`, {
          tags: parseTags(String(data.get('tags') ?? ''), knownTags(card)),
          note: String(data.get('note') ?? ''),
          ...(colour ? { colour } : {}),
        });
        showSaved(card, a, form);
        if (details instanceof HTMLDetailsElement) details.open = false;
        card.querySelector('summary')?.focus();
        await refreshSide();
      } catch (e) {
        say(e instanceof ApiError ? e.message : String(e));
      } finally {
        if (button instanceof HTMLButtonElement) button.disabled = false;
      }
    });
  }
  if (del instanceof HTMLFormElement) {
    const button = /** @type {HTMLButtonElement} */ (del.querySelector('button[type="submit"]'));
    const confirmBox = /** @type {HTMLElement} */ (del.querySelector('.confirm'));
    const yes = /** @type {HTMLButtonElement} */ (del.querySelector('.js-confirm'));
    const keep = /** @type {HTMLButtonElement} */ (del.querySelector('.js-keep'));
    del.addEventListener('submit', (ev) => {
      // With JavaScript a delete asks first, inside the card.
      ev.preventDefault();
      button.hidden = true;
      confirmBox.hidden = false;
      yes.focus();
    });
    keep.addEventListener('click', () => {
      confirmBox.hidden = true;
      button.hidden = false;
      button.focus();
    });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      say('');
      try {
        await api('DELETE', `/api/annotations/${encodeURIComponent(id)}`);
        const section = card.closest('section');
        card.remove();
        const n = document.getElementById('anchored-n');
        if (n && section?.getAttribute('aria-labelledby') === 'anchored-h') n.textContent = String(Math.max(0, Number(n.textContent) - 1));
        if (section && !section.querySelector('li.card') && section.classList.contains('orphans')) section.remove();
        await refreshSide();
      } catch (e) {
        say(e instanceof ApiError ? e.message : String(e));
        yes.disabled = false;
      }
    });
  }
}
