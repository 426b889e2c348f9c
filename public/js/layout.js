// Phones: fold the search form's filters when results are shown, so the results come first.
// Without this script the filters stay open (the page still works).
const narrow = window.matchMedia('(max-width: 40rem)');
for (const d of document.querySelectorAll('details[data-collapse-narrow]:not([data-keep-open])')) {
  if (narrow.matches && d instanceof HTMLDetailsElement) d.open = false;
}

// The language switch comes back to the same place in the page: the server never sees the address's
// `#…` (the passage or match being read), so it is added to where the switch goes back to.
for (const form of document.querySelectorAll('form.langswitch')) {
  form.addEventListener('submit', () => {
    const back = form.querySelector('input[name="back"]');
    if (back instanceof HTMLInputElement && window.location.hash && !back.value.includes('#')) back.value += window.location.hash;
  });
}
