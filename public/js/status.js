// While the corpus is being indexed, keep the banner's progress bar current.
// A page made during indexing shows what was indexed by then (a search may
// find 1 passage where 246 exist once all papers are in), so when indexing
// ends the banner says so and offers to reload the page; a page with nothing
// typed or selected yet is reloaded at once. While a problem is shown (a
// broken metadata file, a missing corpus folder), keep it current and remove
// it once a sync finds it fixed.
import { localMessage, t } from './i18n.js';
const banner = document.getElementById('indexing');
const bar = banner?.querySelector('progress');
const text = banner?.querySelector('.indexing-text');
let problems = document.getElementById('problems');

/** @param {number} n */
const mb = (n) => (n / 1e6).toFixed(1);

/** @param {{code: string, message: string}[]} list */
function showProblems(list) {
  if (list.length === 0) {
    problems?.remove();
    problems = null;
    return;
  }
  if (!problems) {
    problems = document.createElement('div');
    problems.className = 'problems wrap';
    problems.id = 'problems';
    problems.setAttribute('role', 'alert');
    document.getElementById('main')?.before(problems);
  }
  problems.replaceChildren(
    ...list.map((p) => {
      const line = document.createElement('p');
      line.className = 'problem';
      line.dataset.code = p.code;
      const label = document.createElement('strong');
      label.textContent = t('problem');
      line.append(label, ` ${localMessage(p.message)}`);
      return line;
    }),
  );
}

/** Whether the user has started something a reload would lose: typing in a field, or a text selection. */
function busy() {
  const active = document.activeElement;
  if (active && (active.tagName === 'INPUT' || active.tagName === 'TEXTAREA' || active.tagName === 'SELECT')) return true;
  const sel = window.getSelection();
  return !!sel && !sel.isCollapsed;
}

function finished() {
  if (!banner || !text) return;
  if (bar) bar.value = bar.max;
  banner.classList.add('indexing-done');
  if (!busy()) {
    text.textContent = t('indexedUpdating');
    location.reload();
    return;
  }
  text.textContent = t('indexedStale');
  const button = document.createElement('button');
  button.type = 'button';
  button.id = 'indexing-reload';
  button.textContent = t('showAll');
  button.addEventListener('click', () => location.reload());
  text.append(button);
}

/** Set once indexing has ended: the banner then stays as {@link finished} left it. */
let indexingOver = false;

async function poll() {
  let again;
  try {
    const res = await fetch('/api/status', { headers: { accept: 'application/json' } });
    const s = await res.json();
    showProblems(Array.isArray(s.problems) ? s.problems : []);
    again = problems !== null;
    if (banner && bar && text && !indexingOver) {
      if (!s.indexing || !s.progress) {
        indexingOver = true;
        finished();
      } else {
        const p = s.progress;
        bar.max = Math.max(1, p.totalBytes || p.total);
        bar.value = p.totalBytes ? p.bytes : p.done;
        const eta = p.etaMs === null ? '' : t('eta', { s: Math.ceil(p.etaMs / 1000) });
        text.textContent = t('indexing', { done: p.done, total: p.total, mb: `${mb(p.bytes)}/${mb(p.totalBytes)}`, eta });
        again = true;
      }
    }
  } catch {
    // The server may be restarting; try again shortly.
    again = true;
  }
  // Problems alone are looked at less often than a running indexing.
  if (again) setTimeout(poll, problems && (!banner || indexingOver) ? 5000 : 1000);
}
if (banner || problems) setTimeout(poll, 1000);
