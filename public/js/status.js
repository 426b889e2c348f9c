// While the corpus is being indexed, keep the banner's progress bar current.
// A page made during indexing shows what was indexed by then (a search may
// find 1 passage where 246 exist once all papers are in), so when indexing
// ends the banner says so and offers to reload the page; a page with nothing
// typed or selected yet is reloaded at once.
const banner = document.getElementById('indexing');
const bar = banner?.querySelector('progress');
const text = banner?.querySelector('.indexing-text');

/** @param {number} n */
const mb = (n) => (n / 1e6).toFixed(1);

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
    text.textContent = 'Indexing finished 索引已完成: updating this page 正在刷新…';
    location.reload();
    return;
  }
  text.textContent = 'Indexing finished 索引已完成: this page shows what was indexed when it opened. ';
  const button = document.createElement('button');
  button.type = 'button';
  button.id = 'indexing-reload';
  button.textContent = 'Show all results 刷新结果';
  button.addEventListener('click', () => location.reload());
  text.append(button);
}

async function poll() {
  if (!banner || !bar || !text) return;
  try {
    const res = await fetch('/api/status', { headers: { accept: 'application/json' } });
    const s = await res.json();
    if (!s.indexing || !s.progress) {
      finished();
      return;
    }
    const p = s.progress;
    bar.max = Math.max(1, p.totalBytes || p.total);
    bar.value = p.totalBytes ? p.bytes : p.done;
    const eta = p.etaMs === null ? '' : ` · about ${Math.ceil(p.etaMs / 1000)} s left`;
    text.textContent = `Indexing 正在建立索引: ${p.done}/${p.total} files · ${mb(p.bytes)}/${mb(p.totalBytes)} MB${eta}. Results so far are searchable.`;
  } catch {
    // The server may be restarting; try again shortly.
  }
  setTimeout(poll, 1000);
}
setTimeout(poll, 1000);
