// The documents page's "Add papers" form: upload with XMLHttpRequest so each
// file and the whole batch show their progress, then show the indexing
// progress (/api/status) while the server indexes, and refresh the list.
// Without JavaScript the form posts to /documents and the page reloads.
// Never puts user data into innerHTML.
import { localMessage, t } from './i18n.js';

const form = document.getElementById('upload-form');
const input = document.getElementById('upload-files');
const box = document.getElementById('upload-progress');
const total = document.getElementById('upload-total');
const totalText = document.getElementById('upload-total-text');
const list = document.getElementById('upload-list');
const indexing = document.getElementById('upload-indexing');
const indexBar = document.getElementById('upload-index-bar');
const indexText = document.getElementById('upload-index-text');
const result = document.getElementById('upload-result');

/** @param {number} n */
const mb = (n) => (n / 1024 / 1024).toFixed(1);

/**
 * @param {string} text
 * @param {boolean} [error]
 */
function show(text, error = false) {
  if (!result) return;
  result.textContent = text;
  result.hidden = text === '';
  result.classList.toggle('flash-error', error);
  result.setAttribute('role', error ? 'alert' : 'status');
}

/** Replace the document list with the server's current one. */
async function refreshList() {
  const res = await fetch('/documents', { headers: { accept: 'text/html' }, credentials: 'same-origin' });
  const html = await res.text();
  const fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('doclist');
  const current = document.getElementById('doclist');
  if (fresh && current) current.replaceWith(document.importNode(fresh, true));
}

/** Poll /api/status while the server indexes; returns a function that stops polling. */
function watchIndexing() {
  let stopped = false;
  if (indexing) indexing.hidden = false;
  if (indexText) indexText.textContent = t('waiting');
  const poll = async () => {
    if (stopped) return;
    try {
      const s = await (await fetch('/api/status', { headers: { accept: 'application/json' } })).json();
      if (!stopped && s.indexing && s.progress && indexBar instanceof HTMLProgressElement && indexText) {
        const p = s.progress;
        indexBar.max = Math.max(1, p.totalBytes || p.total);
        indexBar.value = p.totalBytes ? p.bytes : p.done;
        const eta = p.etaMs === null ? '' : t('eta', { s: Math.ceil(p.etaMs / 1000) });
        indexText.textContent = `${t('files', { done: p.done, total: p.total })} · ${mb(p.bytes)}/${mb(p.totalBytes)} MB${eta} · ${p.file}`;
      }
    } catch {
      // try again shortly
    }
    if (!stopped) setTimeout(poll, 300);
  };
  void poll();
  return () => {
    stopped = true;
    if (indexBar instanceof HTMLProgressElement) {
      indexBar.max = 1;
      indexBar.value = 1;
    }
    if (indexText) indexText.textContent = t('done');
  };
}

/**
 * The server's answer to an upload, as a message.
 * @param {any} body
 */
function describe(body) {
  const parts = [];
  const added = body.documents.filter((/** @type {any} */ d) => d.status === 'added');
  const replaced = body.documents.filter((/** @type {any} */ d) => d.status === 'replaced');
  if (added.length) parts.push(t('added', { n: added.length, files: added.map((/** @type {any} */ d) => d.file).join(', ') }));
  if (replaced.length) parts.push(t('replaced', { n: replaced.length, files: replaced.map((/** @type {any} */ d) => d.file).join(', ') }));
  for (const e of body.errors) parts.push(t('notAdded', { message: localMessage(e.message) }));
  return parts.join(' ');
}

if (form instanceof HTMLFormElement && input instanceof HTMLInputElement && list && total instanceof HTMLProgressElement) {
  const maxFiles = Number(form.dataset.maxFiles ?? '20');
  const maxBytes = Number(form.dataset.maxMb ?? '200') * 1024 * 1024;
  const button = form.querySelector('button[type="submit"]');

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const files = [...(input.files ?? [])];
    if (files.length === 0) return show(t('choosePaper'), true);
    if (files.length > maxFiles) return show(t('tooMany', { n: maxFiles }), true);
    const big = files.find((f) => f.size > maxBytes);
    if (big) return show(t('tooBig', { name: big.name, mb: mb(maxBytes) }), true);

    show('');
    list.replaceChildren();
    /** @type {{ bar: HTMLProgressElement, start: number, size: number }[]} */
    const rows = [];
    let offset = 0;
    for (const f of files) {
      const li = document.createElement('li');
      const label = document.createElement('span');
      label.className = 'upload-name';
      label.textContent = `${f.name} (${mb(f.size)} MB)`;
      const bar = document.createElement('progress');
      bar.max = Math.max(1, f.size);
      bar.value = 0;
      bar.setAttribute('aria-label', f.name);
      li.append(label, ' ', bar);
      list.append(li);
      rows.push({ bar, start: offset, size: f.size });
      offset += f.size;
    }
    const sum = Math.max(1, offset);
    total.max = sum;
    total.value = 0;
    if (box) box.hidden = false;
    if (indexing) indexing.hidden = true;
    if (button instanceof HTMLButtonElement) button.disabled = true;

    const xhr = new XMLHttpRequest();
    let stopIndexing = () => {};
    xhr.open('POST', '/api/documents');
    xhr.setRequestHeader('accept', 'application/json');
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (e) => {
      // The request also carries multipart headers: scale what was sent onto the files' bytes.
      const sent = e.lengthComputable && e.total > 0 ? (e.loaded / e.total) * sum : 0;
      total.value = sent;
      if (totalText) totalText.textContent = `${mb(sent)}/${mb(sum)} MB`;
      for (const r of rows) r.bar.value = Math.min(r.size, Math.max(0, sent - r.start));
    });
    xhr.upload.addEventListener('load', () => {
      total.value = sum;
      for (const r of rows) r.bar.value = r.bar.max;
      if (totalText) totalText.textContent = `${mb(sum)}/${mb(sum)} MB`;
      stopIndexing = watchIndexing();
    });
    xhr.addEventListener('load', async () => {
      stopIndexing();
      const body = xhr.response;
      if (xhr.status === 201 && body && Array.isArray(body.documents)) {
        show(describe(body), body.errors.length > 0);
        form.reset();
        try {
          await refreshList();
        } catch {
          show(`${describe(body)} ${t('reload')}`);
        }
      } else {
        // Refused: nothing was indexed, so no "indexing … done" beside the refusal.
        if (indexing) indexing.hidden = true;
        const message = body?.error?.message ? localMessage(body.error.message) : t('httpError', { status: xhr.status });
        show(message, true);
      }
      if (button instanceof HTMLButtonElement) button.disabled = false;
    });
    xhr.addEventListener('error', () => {
      stopIndexing();
      show(t('uploadFailed'), true);
      if (button instanceof HTMLButtonElement) button.disabled = false;
    });
    xhr.send(new FormData(form));
  });
}
