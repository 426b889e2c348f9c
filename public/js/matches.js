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
  /**
   * Opened at a passage (`#p-…`, a search hit's link): the first match in or after it, so the first
   * Next goes on from where the reader is, and the first Previous back from there, not from the top.
   */
  let from = fromHash ? 0 : firstFrom(window.location.hash);

  /** @param {string} hash @returns {number} the first match in or after the element named, 0 for none */
  function firstFrom(hash) {
    const target = hash.length > 1 ? document.getElementById(decodeURIComponent(hash.slice(1))) : null;
    if (!target) return 0;
    for (let n = 1; n <= total; n++) {
      const mark = document.getElementById(`m-${n}`);
      if (mark && (target.contains(mark) || target.compareDocumentPosition(mark) & Node.DOCUMENT_POSITION_FOLLOWING)) return n;
    }
    return total + 1;
  }

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
    if (at === 0 && from > 0) {
      // From the passage opened: the match in or after it, or the one before it (wrapping around).
      const n = step > 0 ? (from > total ? 1 : from) : from === 1 ? total : from - 1;
      from = 0;
      show(n);
      return;
    }
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
