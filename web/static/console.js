// botyard console: the CSRF header on every htmx request, htmx errors shown to the reader,
// and live tables fed by Server-Sent Events. No inline script anywhere (the CSP forbids it).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  document.addEventListener("htmx:configRequest", function (e) {
    e.detail.headers["X-CSRF-Token"] = csrf;
  });
  document.addEventListener("htmx:responseError", function (e) {
    var toast = document.getElementById("toast");
    if (!toast) { return; }
    var text = e.detail.xhr.statusText;
    try {
      var body = JSON.parse(e.detail.xhr.responseText);
      if (body && body.error && body.error.message) { text = body.error.message; }
    } catch (_) {
      if (e.detail.xhr.responseText) { text = e.detail.xhr.responseText; }
    }
    toast.textContent = text;
    setTimeout(function () { toast.textContent = ""; }, 6000);
  });
  function live(table) {
    var url = table.getAttribute("data-live");
    var body = table.querySelector("tbody");
    if (!url || !body || !window.EventSource) { return; }
    var src = new EventSource(url);
    src.addEventListener("rows", function (e) {
      body.innerHTML = e.data;
      if (window.htmx) { window.htmx.process(body); }
    });
    src.addEventListener("totals", function (e) {
      var t = JSON.parse(e.data);
      Object.keys(t).forEach(function (k) {
        var el = document.getElementById("live-" + k);
        if (el) { el.textContent = t[k]; }
      });
    });
  }
  function start() {
    document.querySelectorAll("table[data-live]").forEach(live);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
