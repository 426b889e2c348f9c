// Phones: fold the search form's filters when results are shown, so the results come first.
// Without this script the filters stay open (the page still works).
const narrow = window.matchMedia('(max-width: 40rem)');
for (const d of document.querySelectorAll('details[data-collapse-narrow]:not([data-keep-open])')) {
  if (narrow.matches && d instanceof HTMLDetailsElement) d.open = false;
}
