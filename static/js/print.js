// "Print" links and buttons marked data-print open the browser's print dialog. Without
// JavaScript the link still leads to the printable page. Delegated once, so htmx page swaps
// that load this file again do not bind it twice.
if (!window.carnetPrint) {
  window.carnetPrint = true;
  document.addEventListener('click', function (event) {
    var target = event.target instanceof Element ? event.target.closest('[data-print]') : null;
    if (!target) return;
    event.preventDefault();
    window.print();
  });
}
