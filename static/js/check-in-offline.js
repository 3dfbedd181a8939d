// The door keeps working without a connection (issue #17), over the page that works without
// JavaScript. Online, the search and the "Jest obecna/y" buttons are the server's (htmx).
// Offline, this file searches the registrants kept in localStorage and marks people present at
// once; each check-in is queued with its own key (a UUID), the moment of the scan and this
// device's id, and uploaded when the network returns (koalicja/events/offline.py counts a key
// once, so a retried upload never counts twice). The copy of the registrants is deleted after
// the event (its `expires`). Every text comes from the page, translated there.
(function () {
  "use strict";
  var root = document.querySelector("[data-offline-check-in]");
  if (!root || !window.localStorage || !window.fetch || !window.JSON) {
    return;
  }
  var PREFIX = "koalicja-door-";
  var DEVICE_KEY = PREFIX + "device";
  var storeKey = PREFIX + "event-" + root.getAttribute("data-event");
  var text = function (name, count) {
    return root.getAttribute("data-text-" + name).replace("{n}", count);
  };
  var statusLine = root.querySelector("[data-status]");
  var pendingLine = root.querySelector("[data-pending]");
  var notices = root.querySelector("[data-notices]");
  var results = document.getElementById("check-in-results");
  var search = document.getElementById("q");
  var syncing = false;

  function uuid() {
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function read(key) {
    try {
      return JSON.parse(localStorage.getItem(key));
    } catch (error) {
      return null;
    }
  }

  // Copies of past events' registrants go, on any door page of this browser.
  function forgetEnded() {
    for (var i = localStorage.length - 1; i >= 0; i--) {
      var key = localStorage.key(i);
      if (key.indexOf(PREFIX + "event-") === 0) {
        var stored = read(key);
        if (!stored || !stored.expires || Date.parse(stored.expires) < Date.now()) {
          localStorage.removeItem(key);
        }
      }
    }
  }

  forgetEnded();
  var device = localStorage.getItem(DEVICE_KEY);
  if (!device) {
    device = uuid();
    localStorage.setItem(DEVICE_KEY, device);
  }
  var state = read(storeKey) || { registrants: [], queue: [], expires: null, csrf: null };

  function save() {
    localStorage.setItem(storeKey, JSON.stringify(state));
  }

  function showState() {
    statusLine.textContent = navigator.onLine ? text("online") : text("offline");
    root.classList.toggle("check-in-offline--off", !navigator.onLine);
    pendingLine.textContent = text("pending", state.queue.length);
  }

  function notice(message) {
    var item = document.createElement("li");
    item.textContent = message;
    notices.insertBefore(item, notices.firstChild);
    while (notices.children.length > 10) {
      notices.removeChild(notices.lastChild);
    }
  }

  function showAttended(count) {
    var counter = document.getElementById("attended-count");
    if (counter) {
      counter.textContent = text("attended", count);
    }
  }

  function element(tag, className, content) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (content) {
      node.textContent = content;
    }
    return node;
  }

  function card(person) {
    var box = element("div", "check-in-card" + (person.present ? " check-in-card--in" : ""));
    var name = element("p", "check-in-card__name", person.name);
    if (person.companions) {
      name.appendChild(document.createTextNode(" "));
      name.appendChild(element("span", "badge", "+" + person.companions));
    }
    box.appendChild(name);
    box.appendChild(element("p", "meta", (person.organisation ? person.organisation + " · " : "") + text("code", person.code)));
    if (!person.confirmed) {
      box.appendChild(element("p", "notice notice--error", text("not-confirmed")));
    }
    if (person.present) {
      box.appendChild(element("p", "check-in-card__done", text("present")));
    } else {
      var button = element("button", "button button--primary button--big", text("check-in"));
      button.type = "button";
      button.addEventListener("click", function () {
        checkIn(person);
        box.replaceWith(card(person));
      });
      box.appendChild(button);
    }
    return box;
  }

  // Like the server's search: case and Polish letters ignored, every word must match.
  function fold(value) {
    return (value || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/ł/g, "l");
  }

  function showLocal(query) {
    var words = fold(query).split(/\s+/).filter(Boolean);
    var code = (query || "").replace(/[-\s]/g, "").toUpperCase();
    var found = state.registrants.filter(function (person) {
      var haystack = fold(person.search + " " + person.name + " " + person.organisation);
      return person.code === code || (words.length && words.every(function (word) { return haystack.indexOf(word) >= 0; }));
    });
    results.textContent = "";
    var counter = element("p", "meta", "");
    counter.id = "attended-count";
    results.appendChild(counter);
    showAttended(presentHere());
    if (!words.length) {
      return;
    }
    if (!found.length) {
      results.appendChild(element("p", "empty", text("none")));
      return;
    }
    var list = element("ul", "check-in-list");
    found.slice(0, 30).forEach(function (person) {
      var item = element("li");
      item.appendChild(card(person));
      list.appendChild(item);
    });
    results.appendChild(list);
  }

  // Who is in as this device knows it (with the check-ins not sent yet), companions counted.
  function presentHere() {
    return state.registrants.reduce(function (sum, person) { return sum + (person.present ? 1 + person.companions : 0); }, 0);
  }

  function checkIn(person) {
    person.present = true;
    state.queue.push({ key: uuid(), code: person.code, scanned_at: new Date().toISOString() });
    save();
    showState();
    showAttended(presentHere());
    sync();
  }

  function remember(data) {
    var queued = {};
    state.queue.forEach(function (scan) { queued[scan.code] = true; });
    state.registrants = data.registrants.map(function (person) {
      person.present = person.present || Boolean(queued[person.code]);
      return person;
    });
    state.expires = data.expires;
    state.csrf = data.csrf_token;
    save();
  }

  function refresh() {
    return fetch(root.getAttribute("data-list-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data) {
          remember(data);
        }
      })
      .catch(function () { /* offline: the copy we have stays */ });
  }

  function sync() {
    if (syncing || !state.queue.length || !navigator.onLine) {
      showState();
      return Promise.resolve();
    }
    syncing = true;
    var batch = state.queue.slice();
    return refresh()
      .then(function () {
        return fetch(root.getAttribute("data-sync-url"), {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": state.csrf || "" },
          body: JSON.stringify({ device: device, scans: batch }),
        });
      })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (answer) {
        var done = {};
        answer.results.forEach(function (result) {
          done[result.key] = true;
          notice((result.name ? result.name + ": " : "") + result.message);
        });
        state.queue = state.queue.filter(function (scan) { return !done[scan.key]; });
        save();
        showAttended(answer.attended);
        return refresh();
      })
      .catch(function () { /* kept in the queue: sent at the next chance */ })
      .then(function () {
        syncing = false;
        showState();
      });
  }

  // Offline the server's search and buttons cannot answer: this device does.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!navigator.onLine) {
      event.preventDefault();
      showLocal(search.value);
    }
  });
  search.form.addEventListener("submit", function (event) {
    if (!navigator.onLine) {
      event.preventDefault();
      showLocal(search.value);
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful && event.detail.requestConfig.verb === "post") {
      refresh();  // a check-in made online: the copy learns it
    }
  });
  window.addEventListener("offline", function () {
    showState();
    showLocal(search.value);
  });
  window.addEventListener("online", function () {
    showState();
    sync();
  });

  root.hidden = false;
  showState();
  if (navigator.onLine) {
    refresh().then(sync);
  } else {
    // The page came from the service worker's copy: the search in its address is answered here.
    var params = new URLSearchParams(location.search);
    search.value = params.get("q") || params.get("kod") || "";
    showLocal(search.value);
  }

  // The page itself, its styles and scripts, kept for a reload without a connection.
  if ("serviceWorker" in navigator && window.caches && navigator.onLine) {
    navigator.serviceWorker
      .register(root.getAttribute("data-worker-url"), { scope: root.getAttribute("data-worker-scope") })
      .then(function () {
        var assets = Array.prototype.map.call(document.querySelectorAll("script[src], link[rel=stylesheet]"), function (node) {
          return node.src || node.href;
        });
        return caches.open("koalicja-door").then(function (cache) {
          return cache.addAll([location.pathname].concat(assets));
        });
      })
      .catch(function () { /* no copy: the open page still works offline */ });
  }
})();
