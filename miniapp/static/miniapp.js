// botyard Mini-App: Telegram's WebApp bridge over the console's pages. The opening page signs
// in with initData; every screen gets Telegram's theme, its main form on the MainButton, the
// BackButton to its parent screen, haptics on success and error, and Telegram's confirmation
// before consequential actions. Outside Telegram the page keeps its own Back link and buttons.
(function () {
  "use strict";
  var tg = window.Telegram && window.Telegram.WebApp;
  var inside = !!(tg && tg.platform && tg.platform !== "unknown");

  // The parent screen of a path, or null on a tab's top screen.
  function parentOf(path) {
    var p = path.replace(/\/+$/, "").split("/");
    if (p[1] !== "app") { return null; }
    if (p[2] === "help") { return "/app/home"; }
    if (p[2] !== "tenants" || p.length <= 4) { return null; }
    var base = p.slice(0, 4).join("/");
    var rest = p.slice(4);
    if (rest.length === 1) {
      var top = ["groups", "templates", "campaigns", "more"];
      return top.indexOf(rest[0]) >= 0 ? null : base + "/more";
    }
    if (rest[0] === "logins") { return base + "/sessions"; }
    if (rest.length >= 4 && rest[2] === "runs") { return base + "/" + rest.slice(0, 2).join("/"); }
    return base + "/" + rest[0];
  }
  window.botyardParentOf = parentOf;

  function haptic(kind) {
    if (inside && tg.HapticFeedback) { tg.HapticFeedback.notificationOccurred(kind); }
  }

  function signIn() {
    var open = document.getElementById("app-open");
    if (!open) { return false; }
    var form = document.getElementById("tg-sign-in");
    var failed = open.querySelector(".error");
    if (tg && tg.initData && form && !failed) {
      form.elements.init_data.value = tg.initData;
      form.submit();
      return true;
    }
    var home = open.getAttribute("data-home");
    if (home && !failed) { window.location.replace(home); return true; }
    var wait = document.getElementById("app-wait");
    var outside = document.getElementById("app-outside");
    if (wait) { wait.hidden = true; }
    if (outside) { outside.hidden = false; }
    return false;
  }

  function back() {
    var to = parentOf(window.location.pathname);
    if (inside) {
      if (to) {
        tg.BackButton.onClick(function () { window.location.href = to; });
        tg.BackButton.show();
      } else {
        tg.BackButton.hide();
      }
      return;
    }
    var link = document.querySelector("[data-back]");
    if (link && to) { link.setAttribute("href", to); link.hidden = false; }
  }

  // The screen's main form goes on Telegram's MainButton, its own button hidden.
  function mainButton() {
    var form = document.querySelector("form[data-main]");
    if (!inside || !form) { if (inside) { tg.MainButton.hide(); } return; }
    var own = form.querySelector("button[type=submit]");
    if (own) { own.classList.add("tg-hidden"); }
    tg.MainButton.setParams({ text: form.getAttribute("data-main"), is_visible: true, is_active: true });
    tg.MainButton.onClick(function () {
      if (!form.reportValidity()) { haptic("error"); return; }
      tg.MainButton.showProgress(false);
      form.requestSubmit();
    });
  }

  // Consequential actions ask first: Telegram's dialog inside, the browser's outside.
  function confirms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (form.getAttribute("data-confirmed") === "1") { return; }
        e.preventDefault();
        var text = form.getAttribute("data-confirm");
        var go = function () { form.setAttribute("data-confirmed", "1"); form.requestSubmit(); };
        if (inside && tg.showConfirm) {
          tg.showConfirm(text, function (ok) { if (ok) { go(); } });
        } else if (window.confirm(text)) {
          go();
        }
      });
    });
  }

  // Links out of the app: t.me links through Telegram, others in the browser.
  function links() {
    if (!inside) { return; }
    document.querySelectorAll("a[data-tg-link], a[data-external]").forEach(function (a) {
      a.addEventListener("click", function (e) {
        e.preventDefault();
        var href = a.getAttribute("href");
        if (a.hasAttribute("data-tg-link") && tg.openTelegramLink) { tg.openTelegramLink(href); } else { tg.openLink(href); }
      });
    });
  }

  // Stars: the invoice opens inside Telegram (openInvoice); the screen reloads once it is paid,
  // or says why not. Outside Telegram the form posts and the browser follows the t.me link.
  function stars() {
    if (!inside || !tg.openInvoice) { return; }
    document.querySelectorAll("form[data-stars]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var button = form.querySelector("button");
        if (button) { button.disabled = true; }
        fetch(form.action, {
          method: "POST",
          body: new URLSearchParams(new FormData(form)),
          headers: { "Accept": "application/json" },
          credentials: "same-origin"
        }).then(function (r) {
          if (!r.ok) { throw new Error(String(r.status)); }
          return r.json();
        }).then(function (j) {
          tg.openInvoice(j.url, function (status) {
            if (button) { button.disabled = false; }
            if (status === "paid") { haptic("success"); window.location.reload(); }
            else if (status === "failed") { haptic("error"); }
          });
        }).catch(function () {
          // Shown by the server's own error screen.
          if (button) { button.disabled = false; }
          form.removeAttribute("data-stars");
          form.submit();
        });
      });
    });
  }

  function start() {
    if (inside) {
      document.body.classList.add("tg");
      document.documentElement.setAttribute("data-scheme", tg.colorScheme || "light");
      tg.onEvent("themeChanged", function () {
        document.documentElement.setAttribute("data-scheme", tg.colorScheme || "light");
      });
      tg.ready();
      tg.expand();
    }
    if (signIn()) { return; }
    back();
    mainButton();
    confirms();
    links();
    stars();
    if (document.querySelector("main .error[role=alert]")) { haptic("error"); } else if (document.querySelector("main .notice[role=status]")) { haptic("success"); }
    // When the screen became usable, for the performance figures.
    document.body.setAttribute("data-ready-ms", String(Math.round(window.performance.now())));
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
