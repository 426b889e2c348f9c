// The tags page: find a tag by name, pinyin or initials, and nest a tag by
// dragging it onto another (or onto "top level"), which renames it under its
// new parent through PATCH /api/tags/:name. Every action also has its form,
// which works without JavaScript.
import { ApiError, api, applyColours, tagFinder } from './duikou.js';

applyColours(document);
const tree = document.getElementById('tagtree');
const side = document.querySelector('nav.tagside');
if (side) tagFinder(side);

const msg = document.getElementById('tag-msg');
const droproot = document.getElementById('droproot');
/** The name of the tag being dragged. */
let dragged = '';

/**
 * Move a tag under a new parent ('' for the top level), keeping its own last name.
 * @param {string} name
 * @param {string} parent
 */
async function nest(name, parent) {
  const label = name.slice(name.lastIndexOf('/') + 1);
  const target = parent === '' ? label : `${parent}/${label}`;
  if (target === name) return;
  if (msg) msg.textContent = '';
  try {
    const t = await api('PATCH', `/api/tags/${encodeURIComponent(name)}`, { name: target });
    window.location.assign(`/tags?${new URLSearchParams({ tag: t.name })}#tag-edit`);
  } catch (e) {
    if (msg) msg.textContent = e instanceof ApiError ? e.message : String(e);
  }
}

/**
 * Accept drops on `el`, nesting the dragged tag under `parent()`.
 * @param {HTMLElement} el
 * @param {() => string} parent
 */
function dropTarget(el, parent) {
  el.addEventListener('dragover', (ev) => {
    const p = parent();
    // Not onto itself or its own subtree.
    if (!dragged || p === dragged || p.startsWith(`${dragged}/`)) return;
    ev.preventDefault();
    el.classList.add('drop-over');
  });
  el.addEventListener('dragleave', () => el.classList.remove('drop-over'));
  el.addEventListener('drop', (ev) => {
    ev.preventDefault();
    el.classList.remove('drop-over');
    if (dragged) void nest(dragged, parent());
  });
}

if (tree) {
  for (const row of tree.querySelectorAll('.tagrow[draggable="true"]')) {
    const node = /** @type {HTMLElement} */ (row.closest('li.tagnode'));
    const name = node.dataset.tag ?? '';
    row.addEventListener('dragstart', (ev) => {
      dragged = name;
      /** @type {DragEvent} */ (ev).dataTransfer?.setData('text/plain', name);
      if (droproot) droproot.hidden = false;
    });
    row.addEventListener('dragend', () => {
      dragged = '';
      if (droproot) droproot.hidden = true;
    });
    dropTarget(/** @type {HTMLElement} */ (row), () => name);
  }
  if (droproot) dropTarget(droproot, () => '');
}
