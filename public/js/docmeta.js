// The document page's details form and "Remove from corpus" step: PATCH and
// DELETE /api/documents/:id instead of the forms' page posts, updating the
// heading in place after an edit. Never puts user data into innerHTML.
import { ApiError, api } from './duikou.js';
import { t } from './i18n.js';

const metaForm = document.getElementById('meta-form');
const removeForm = document.getElementById('remove-form');

/**
 * @param {HTMLElement | null} el
 * @param {string} text
 */
function say(el, text) {
  if (!el) return;
  el.textContent = text;
  el.hidden = text === '';
}

/**
 * Set a text element and show or hide the part around it.
 * @param {string} id
 * @param {string} text
 * @param {string} [partId]
 */
function setText(id, text, partId) {
  const el = document.getElementById(id);
  if (el) el.textContent = text;
  const part = partId ? document.getElementById(partId) : null;
  if (part) part.hidden = text === '';
}

/**
 * Authors typed one per line or separated by ; (as the server reads the form).
 * @param {string} s
 */
const splitAuthors = (s) =>
  s
    .split(/\r?\n|[;；]/u)
    .map((a) => a.trim())
    .filter((a) => a !== '');

if (metaForm instanceof HTMLFormElement) {
  const msg = document.getElementById('meta-msg');
  const button = metaForm.querySelector('button[type="submit"]');
  metaForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = metaForm.dataset.docId ?? '';
    /** @type {Record<string, unknown>} */
    const patch = {};
    for (const el of metaForm.elements) {
      if (!(el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement)) continue;
      const initial =
        el instanceof HTMLSelectElement ? ([...el.options].find((o) => o.defaultSelected)?.value ?? el.options[0]?.value) : el.defaultValue;
      if (el.value.trim() === (initial ?? '').trim()) continue;
      const v = el.value.trim();
      if (el.name === 'authors') patch.authors = splitAuthors(v);
      else if (el.name === 'year') {
        if (v !== '' && !/^\d+$/.test(v)) {
          say(msg, t('notYear', { v }));
          return;
        }
        patch.year = v === '' ? null : Number(v);
      } else if (el.name === 'venue') patch.venue = v === '' ? null : v;
      else if (el.name === 'title' || el.name === 'lang') patch[el.name] = v;
    }
    if (Object.keys(patch).length === 0) {
      say(msg, t('nothingChanged'));
      return;
    }
    if (button instanceof HTMLButtonElement) button.disabled = true;
    say(msg, '');
    try {
      const d = await api('PATCH', `/api/documents/${encodeURIComponent(id)}`, patch);
      setText('doc-title', d.title);
      setText('meta-title', d.title);
      setText('meta-authors', d.authors.length ? d.authors.join(', ') : t('unknownAuthor'));
      setText('meta-year', d.year === null ? '' : String(d.year), 'meta-year-part');
      setText('meta-venue', d.venue ?? '', 'meta-venue-part');
      document.title = `${d.title} · duikou`;
      // What is saved is now the form's starting point.
      for (const el of metaForm.elements) {
        if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) el.defaultValue = el.value;
        if (el instanceof HTMLSelectElement) for (const o of el.options) o.defaultSelected = o.selected;
      }
      say(msg, t('savedMeta'));
    } catch (e) {
      say(msg, e instanceof ApiError ? e.message : String(e));
    } finally {
      if (button instanceof HTMLButtonElement) button.disabled = false;
    }
  });
}

if (removeForm instanceof HTMLFormElement) {
  const msg = document.getElementById('remove-msg');
  const details = document.getElementById('doc-remove');
  const cancel = document.getElementById('remove-cancel');
  if (cancel) {
    cancel.hidden = false;
    cancel.addEventListener('click', () => {
      if (details instanceof HTMLDetailsElement) details.open = false;
    });
  }
  removeForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = removeForm.dataset.docId ?? '';
    const box = document.getElementById('remove-annotations');
    const deleteAnnotations = box instanceof HTMLInputElement && box.checked;
    const button = removeForm.querySelector('button[type="submit"]');
    if (button instanceof HTMLButtonElement) button.disabled = true;
    say(msg, '');
    try {
      const r = await api('DELETE', `/api/documents/${encodeURIComponent(id)}${deleteAnnotations ? '?deleteAnnotations=1' : ''}`);
      // The next page shows the message (public/js/flash.js); never in the address, where a link could forge it.
      sessionStorage.setItem('duikou.flash', r.message);
      window.location.assign('/documents');
    } catch (e) {
      say(msg, e instanceof ApiError ? e.message : String(e));
      if (button instanceof HTMLButtonElement) button.disabled = false;
    }
  });
}
