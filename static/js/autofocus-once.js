// htmx focuses the [autofocus] element of what it swaps in (a queue row's status after a
// decision, a check-in card). The attribute stays on elements swapped in or loaded before, and
// a document may hold only one: drop the old ones before every swap.
document.addEventListener("htmx:beforeSwap", function () {
  document.querySelectorAll("[autofocus]").forEach(function (element) {
    element.removeAttribute("autofocus");
  });
});
