// Inside an embedded widget (templates/reach/embed_base.html): tells the page around it how
// tall the widget is, so that koalicja-embed.js there can fit the frame to it. Without that
// script the frame keeps the fixed height of the snippet. Only a height is sent: nothing
// else leaves the frame.
(function () {
  if (window.parent === window) return;
  var widget = document.getElementById("embed");
  var last = 0;
  function report() {
    var height = Math.ceil(widget.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ koalicja: "height", height: height }, "*");
  }
  report();
  window.addEventListener("load", report);
  if (window.ResizeObserver) new ResizeObserver(report).observe(widget);
})();
