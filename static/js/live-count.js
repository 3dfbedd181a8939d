// The home page's count asks for itself again every minute (htmx: data-hx-trigger="every 60s"),
// but only while the tab is visible: a hidden tab's requests are cancelled here. (An htmx trigger
// filter would need eval, which the Content-Security-Policy does not allow.)
document.addEventListener("htmx:beforeRequest", function (event) {
  if (document.visibilityState !== "visible" && event.target.hasAttribute("data-live-count")) {
    event.preventDefault();
  }
});
