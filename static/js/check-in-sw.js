// The door's service worker (static/js/check-in-offline.js registers it; served by
// koalicja/events/panel.py under /panel/wydarzenia/ so that its scope covers every event's
// check-in page). Network first, always; without a network the door page and its versioned
// styles and scripts come from the copy the page itself put into the cache. Nothing else of
// the panel is kept: the cached door page holds no registrant (those live in localStorage,
// with their expiry).
"use strict";
var CACHE = "koalicja-door";
var DOOR_PAGE = /^\/panel\/wydarzenia\/\d+\/wejscie$/;

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) {
    return;
  }
  var page = request.mode === "navigate" && DOOR_PAGE.test(url.pathname);
  if (!page && url.pathname.indexOf("/static/") !== 0) {
    return;
  }
  event.respondWith(
    fetch(request).catch(function () {
      return caches.open(CACHE).then(function (cache) {
        // The door page's copy is kept without its search: ?q= and ?kod= are answered by the page.
        return cache.match(page ? url.origin + url.pathname : request).then(function (kept) {
          return kept || Response.error();
        });
      });
    })
  );
});
