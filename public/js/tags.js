// The tags page: rename, merge, recolour, describe and delete tags through
// PATCH/DELETE /api/tags/:name; the page reloads to show the new tree.
import { ApiError, api, applyColours } from './duikou.js';

applyColours(document);

for (const form of document.querySelectorAll('form.tagform')) {
  if (!(form instanceof HTMLFormElement)) continue;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = form.dataset.tag ?? '';
    const op = form.dataset.op;
    const data = new FormData(form);
    const msg = form.parentElement?.querySelector('.tag-msg');
    const say = (/** @type {string} */ s) => {
      if (msg) msg.textContent = s;
    };
    const path = `/api/tags/${encodeURIComponent(name)}`;
    const button = form.querySelector('button');
    if (button) button.disabled = true;
    say('');
    try {
      let next = window.location.href;
      if (op === 'rename') {
        await api('PATCH', path, { name: String(data.get('name') ?? '') });
      } else if (op === 'merge') {
        const target = String(data.get('mergeInto') ?? '');
        if (!target) throw new ApiError('bad_tag', 'Choose the tag to merge into. 请选择要合并到的标签。', 400);
        await api('PATCH', path, { mergeInto: target });
      } else if (op === 'colour') {
        const c = String(data.get('colour') ?? '');
        await api('PATCH', path, { colour: c === '' ? null : c });
      } else if (op === 'describe') {
        await api('PATCH', path, { description: String(data.get('description') ?? '') });
      } else if (op === 'delete') {
        const detach = data.get('detach') === '1';
        await api('DELETE', `${path}${detach ? '?detach=1' : ''}`);
        next = '/tags';
      }
      window.location.assign(next);
    } catch (e) {
      say(e instanceof ApiError ? e.message : String(e));
      if (button) button.disabled = false;
    }
  });
}
