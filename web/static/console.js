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
  // The template editor: formatting and variables put into the text at the cursor, in the
  // chosen format, and the length Telegram counts (the preview's text) against its limit.
  var WRAP = {
    markdown: { bold: ["**", "**"], italic: ["_", "_"], code: ["`", "`"], link: ["[", "](https://)"] },
    html: { bold: ["<b>", "</b>"], italic: ["<i>", "</i>"], code: ["<code>", "</code>"],
      link: ["<a href=\"https://\">", "</a>"], spoiler: ["<tg-spoiler>", "</tg-spoiler>"] },
  };
  function editor(bar) {
    var area = document.getElementById(bar.getAttribute("data-for"));
    var format = document.getElementById("tpl-format");
    if (!area) { return; }
    function put(before, after) {
      var a = area.selectionStart, b = area.selectionEnd, v = area.value;
      area.value = v.slice(0, a) + before + v.slice(a, b) + after + v.slice(b);
      area.focus();
      area.setSelectionRange(a + before.length, b + before.length);
      area.dispatchEvent(new Event("input", { bubbles: true }));
    }
    function formats() {
      var html = format && format.value === "html";
      bar.querySelectorAll("[data-html-only]").forEach(function (b) { b.disabled = !html; });
    }
    bar.querySelectorAll("button[data-wrap]").forEach(function (b) {
      b.addEventListener("click", function () {
        var w = WRAP[format && format.value === "html" ? "html" : "markdown"][b.getAttribute("data-wrap")];
        if (w) { put(w[0], w[1]); }
      });
    });
    var vars = bar.querySelector("select[data-insert]");
    if (vars) {
      vars.addEventListener("change", function () {
        if (vars.value) { put(vars.value, ""); vars.value = ""; }
      });
    }
    if (format) { format.addEventListener("change", formats); }
    formats();
  }
  function counter(out) {
    var preview = document.getElementById("preview");
    var media = document.getElementById("tpl-media");
    function count() {
      var limit = media && media.value ? 1024 : 4096;
      var shown = preview && preview.querySelector(".tg-text");
      if (!shown) { out.textContent = ""; return; }
      var n = Number(shown.getAttribute("data-length")) || 0;
      out.textContent = n.toLocaleString(document.documentElement.lang) + " / " + limit.toLocaleString(document.documentElement.lang) + " " + out.getAttribute("data-of");
      out.classList.toggle("over", n > limit);
    }
    document.addEventListener("htmx:afterSwap", function (e) { if (e.target === preview) { count(); } });
    if (media) { media.addEventListener("change", count); }
  }
  // The help: its list of pages open beside the article on a wide screen, folded on a
  // phone; and a way back to the screen that linked here.
  function helpPage() {
    var pages = document.querySelector("details.help-nav-pages");
    if (pages && window.matchMedia("(min-width: 48rem)").matches) { pages.open = true; }
    var back = document.querySelector("[data-history-back]");
    if (back && document.referrer.indexOf(window.location.origin + "/") === 0 && window.history.length > 1) {
      back.hidden = false;
      back.addEventListener("click", function (e) { e.preventDefault(); window.history.back(); });
    }
  }
  // A rule form shows only the fieldsets of the chosen kind (all of them without script).
  function kinds(select) {
    var form = select.form;
    function show() {
      form.querySelectorAll("fieldset[data-kind]").forEach(function (f) {
        var on = f.getAttribute("data-kind").split(" ").indexOf(select.value) >= 0;
        f.hidden = !on;
        f.querySelectorAll("input, select").forEach(function (i) { i.disabled = !on; });
      });
    }
    select.addEventListener("change", show);
    show();
  }
  function start() {
    helpPage();
    document.querySelectorAll("select[data-kinds]").forEach(kinds);
    document.querySelectorAll(".toolbar[data-for]").forEach(editor);
    document.querySelectorAll("#tpl-count").forEach(counter);
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
