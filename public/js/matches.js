// The reader's match navigation: Previous / Next buttons and the keys n / p
// walk the search matches (`mark#m-1` … `mark#m-<total>`) in text order, with
// a counter ("12 / 389"). Without JavaScript the buttons are plain links to
// the first and last match.

function init() {
  const bar = document.getElementById('matchbar');
  const prev = document.getElementById('match-prev');
  const next = document.getElementById('match-next');
  const current = document.getElementById('match-current');
  if (!bar || !prev || !next || !current) return;
  const total = Number(bar.dataset.total);
  if (!(total > 0)) return;
  for (const el of bar.querySelectorAll('.js-only')) el.removeAttribute('hidden');

  const fromHash = /^#m-(\d+)$/.exec(window.location.hash);
  /** The match shown, 1-based; 0 before the first move. */
  let at = fromHash ? Math.min(total, Math.max(1, Number(fromHash[1]))) : 0;

  /** @param {number} n */
  function show(n) {
    const mark = document.getElementById(`m-${n}`);
    if (!mark) return;
    at = n;
    for (const old of document.querySelectorAll('mark.current')) old.classList.remove('current');
    mark.classList.add('current');
    mark.scrollIntoView({ block: 'center' });
    current.textContent = String(n);
    // The address names the match, without a history entry per step.
    history.replaceState(null, '', `#m-${n}`);
  }

  /** @param {1 | -1} step */
  function move(step) {
    // Wrap around, as find-in-page does.
    show(at === 0 ? (step > 0 ? 1 : total) : ((at - 1 + step + total) % total) + 1);
  }

  prev.addEventListener('click', (ev) => {
    ev.preventDefault();
    move(-1);
  });
  next.addEventListener('click', (ev) => {
    ev.preventDefault();
    move(1);
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    const t = ev.target;
    if (t instanceof HTMLElement && (t.isContentEditable || t.closest('input, textarea, select, [role="dialog"]'))) return;
    if (ev.key === 'n' || ev.key === 'p') {
      ev.preventDefault();
      move(ev.key === 'n' ? 1 : -1);
    }
  });
  if (at > 0) {
    const mark = document.getElementById(`m-${at}`);
    if (mark) mark.classList.add('current');
    current.textContent = String(at);
  }
}

init();
