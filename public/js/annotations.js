// The annotations page: colours of the quote cards, and deleting (orphaned)
// annotations with a confirm step inside the card.
import { ApiError, api, applyColours } from './duikou.js';

applyColours(document);

for (const btn of document.querySelectorAll('button.js-delete')) {
  if (!(btn instanceof HTMLButtonElement)) continue;
  const actions = /** @type {HTMLElement} */ (btn.parentElement);
  const confirmBox = /** @type {HTMLElement} */ (actions.querySelector('.confirm'));
  const yes = /** @type {HTMLButtonElement} */ (actions.querySelector('.js-confirm'));
  const keep = /** @type {HTMLButtonElement} */ (actions.querySelector('.js-keep'));
  const error = /** @type {HTMLElement} */ (actions.querySelector('.card-error'));
  btn.hidden = false;
  btn.addEventListener('click', () => {
    btn.hidden = true;
    confirmBox.hidden = false;
    yes.focus();
  });
  keep.addEventListener('click', () => {
    confirmBox.hidden = true;
    btn.hidden = false;
    btn.focus();
  });
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    error.textContent = '';
    try {
      await api('DELETE', `/api/annotations/${encodeURIComponent(btn.dataset.id ?? '')}`);
      const card = btn.closest('li.card');
      const section = card?.closest('section');
      card?.remove();
      if (section && !section.querySelector('li.card')) section.remove();
    } catch (e) {
      error.textContent = e instanceof ApiError ? e.message : String(e);
      yes.disabled = false;
    }
  });
}
