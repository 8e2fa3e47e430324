// botyard console charts: uPlot fed from the statistics API (same origin, the session cookie).
// An element with data-chart="messages|users|deliveries" and data-src="<API URL>" becomes a chart.
(function () {
  "use strict";
  function day(s) { return Date.parse(s.length === 10 ? s + "T00:00:00Z" : s + ":00Z") / 1000; }
  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  function draw(el, data, series) {
    var width = Math.max(280, el.clientWidth - 8);
    var opts = {
      width: width, height: 220,
      // The x series' legend: its label and dates in the reader's language.
      series: [{ label: el.getAttribute("data-label-x") || "", value: el.getAttribute("data-date") || "{YYYY}-{MM}-{DD}" }].concat(series),
      axes: [{ stroke: css("--muted") }, { stroke: css("--muted") }],
      scales: { x: { time: true } },
    };
    el.textContent = "";
    new window.uPlot(opts, data, el);
  }
  function load(el) {
    var kind = el.getAttribute("data-chart");
    fetch(el.getAttribute("data-src"), { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (j) {
        if (kind === "messages") {
          var s = j.series || [];
          draw(el, [s.map(function (p) { return day(p.at); }), s.map(function (p) { return p.value; })],
            [{ label: el.getAttribute("data-label-a"), stroke: css("--accent"), width: 2 }]);
        } else if (kind === "users") {
          var u = j.daily || [];
          draw(el, [u.map(function (p) { return day(p.at); }), u.map(function (p) { return p.value; })],
            [{ label: el.getAttribute("data-label-a"), stroke: css("--accent"), width: 2 }]);
        } else if (kind === "deliveries") {
          var d = j.daily || [];
          draw(el, [d.map(function (p) { return day(p.at); }), d.map(function (p) { return p.sent; }), d.map(function (p) { return p.failed; })],
            [{ label: el.getAttribute("data-label-a"), stroke: css("--ok"), width: 2 },
             { label: el.getAttribute("data-label-b"), stroke: css("--bad"), width: 2 }]);
        }
        el.setAttribute("data-drawn", "1");
      })
      .catch(function (e) { el.textContent = el.getAttribute("data-failed") + " (" + e.message + ")"; });
  }
  function start() { document.querySelectorAll("[data-chart]").forEach(load); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
