// The shop's offers are one form (one CSRF token for the page), each line with a field qty[<id>]
// and a button offer=<id>. With JavaScript: Enter in a line's field presses that line's button
// (the form's default button is disabled, so that Enter never adds the page's first offer), and
// an htmx add sends only its own line's quantity, not every field of the form. Without this file
// both still work: the server reads the chosen offer's field only. Bound once, since htmx page
// swaps may load this file again.
if (!window.carnetShop) {
  window.carnetShop = true;
  var lineButton = function (element) {
    var line = element instanceof Element ? element.closest('.offer-list li') : null;
    return line ? line.querySelector('button[name="offer"]') : null;
  };
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Enter' || !(event.target instanceof HTMLInputElement) || !event.target.name.startsWith('qty[')) return;
    var button = lineButton(event.target);
    if (!button) return;
    event.preventDefault();
    button.click();
  });
  document.addEventListener('htmx:configRequest', function (event) {
    var button = event.detail.elt;
    if (!(button instanceof HTMLButtonElement) || button.name !== 'offer' || !button.value) return;
    var keep = 'qty[' + button.value + ']';
    var data = event.detail.formData;
    Array.from(data.keys()).forEach(function (key) {
      if (key !== keep) data.delete(key);
    });
  });
}
