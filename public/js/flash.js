// A message a page script left for the next page (after a removal through the API),
// kept in this tab's sessionStorage: only duikou's own pages can write it, unlike
// the address, so no link can make duikou appear to say something.

const KEY = 'duikou.flash';

const el = document.getElementById('flash');
const text = sessionStorage.getItem(KEY);
sessionStorage.removeItem(KEY);
if (el && el.hidden && text) {
  el.textContent = text;
  el.hidden = false;
}
