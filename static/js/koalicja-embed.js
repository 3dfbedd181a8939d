// For sites that embed a coalition's widget: fits each <iframe data-koalicja-embed> to the
// height its widget reports (embed-frame.js). Listens only to frames served from the same
// site as this script, and only for a height.
(function () {
  var script = document.currentScript;
  if (!script) return;
  var origin = new URL(script.src, window.location.href).origin;
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.origin !== origin || !data || data.koalicja !== "height") return;
    var height = Number(data.height);
    if (!(height > 0 && height < 20000)) return;
    var frames = document.querySelectorAll("iframe[data-koalicja-embed]");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === event.source) frames[i].setAttribute("height", String(height));
    }
  });
})();
