// While the corpus is being indexed, keep the banner's progress bar current
// and remove it when indexing ends.
const banner = document.getElementById('indexing');
const bar = banner?.querySelector('progress');
const text = banner?.querySelector('.indexing-text');

/** @param {number} n */
const mb = (n) => (n / 1e6).toFixed(1);

async function poll() {
  if (!banner || !bar || !text) return;
  try {
    const res = await fetch('/api/status', { headers: { accept: 'application/json' } });
    const s = await res.json();
    if (!s.indexing || !s.progress) {
      text.textContent = 'Indexing finished 索引已完成.';
      bar.value = bar.max;
      setTimeout(() => banner.remove(), 1500);
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
