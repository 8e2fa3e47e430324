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
  // A file goes up as the raw body, its progress shown; the page reloads when it is stored.
  function upload(form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var input = form.querySelector("input[type=file]");
      var bar = form.querySelector("progress");
      if (!input || !input.files || !input.files[0]) { return; }
      var file = input.files[0];
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action") + "?name=" + encodeURIComponent(file.name));
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.addEventListener("progress", function (p) {
        if (bar && p.lengthComputable) { bar.value = Math.round(p.loaded * 100 / p.total); }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) { window.location.reload(); return; }
        var toast = document.getElementById("toast");
        if (toast) { toast.textContent = xhr.responseText || xhr.statusText; }
      });
      xhr.send(file);
    });
  }
  // A log table follows new lines as they come, newest last, keeping the latest 1000.
  function tail(table) {
    var url = table.getAttribute("data-tail");
    var body = table.querySelector("tbody");
    if (!url || !body || !window.EventSource) { return; }
    var src = new EventSource(url);
    src.addEventListener("line", function (e) {
      var none = body.querySelector("tr.none");
      if (none) { none.remove(); }
      body.insertAdjacentHTML("beforeend", e.data);
      while (body.rows.length > 1000) { body.deleteRow(0); }
    });
  }
  function start() {
    document.querySelectorAll("table[data-live]").forEach(live);
    document.querySelectorAll("table[data-tail]").forEach(tail);
    document.querySelectorAll("form[data-upload]").forEach(upload);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
