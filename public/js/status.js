// While the corpus is being indexed, keep the banner's progress bar current
// and remove it when indexing ends; while a problem is shown (a broken
// metadata file, a missing corpus folder), keep it current and remove it once
// a sync finds it fixed.
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
      label.textContent = 'Problem 问题:';
      line.append(label, ` ${p.message}`);
      return line;
    }),
  );
}

async function poll() {
  let again;
  try {
    const res = await fetch('/api/status', { headers: { accept: 'application/json' } });
    const s = await res.json();
    showProblems(Array.isArray(s.problems) ? s.problems : []);
    again = problems !== null;
    if (banner && bar && text && banner.isConnected) {
      if (!s.indexing || !s.progress) {
        text.textContent = 'Indexing finished 索引已完成.';
        bar.value = bar.max;
        setTimeout(() => banner.remove(), 1500);
      } else {
        const p = s.progress;
        bar.max = Math.max(1, p.totalBytes || p.total);
        bar.value = p.totalBytes ? p.bytes : p.done;
        const eta = p.etaMs === null ? '' : ` · about ${Math.ceil(p.etaMs / 1000)} s left`;
        text.textContent = `Indexing 正在建立索引: ${p.done}/${p.total} files · ${mb(p.bytes)}/${mb(p.totalBytes)} MB${eta}. Results so far are searchable.`;
        again = true;
      }
    }
  } catch {
    // The server may be restarting; try again shortly.
    again = true;
  }
  if (again) setTimeout(poll, problems && !banner?.isConnected ? 5000 : 1000);
}
if (banner || problems) setTimeout(poll, 1000);
