// Reader: the sticky bar names the section being read (the last heading above the bar's bottom edge).
const bar = document.getElementById('reader-head');
const out = document.getElementById('reader-section');
const headings = [...document.querySelectorAll('article.paper .heading')];

function update() {
  if (!bar || !out) return;
  const edge = bar.getBoundingClientRect().bottom + 4;
  let current = '';
  for (const h of headings) {
    if (h.getBoundingClientRect().top > edge) break;
    current = h.textContent?.trim() ?? '';
  }
  if (out.textContent !== current) out.textContent = current;
}

if (bar && out && headings.length) {
  let queued = false;
  window.addEventListener(
    'scroll',
    () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        update();
      });
    },
    { passive: true },
  );
  window.addEventListener('hashchange', update);
  update();
}
